"""The infer unit: predicts one day of demand with the champion model and publishes it to the mart."""

__version__ = "0.1.0"
UNIT = "infer"
