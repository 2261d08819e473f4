"""The train unit: the mart's labelled `features` -> an XGBoost model version in the artifacts bucket."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("batchml-train")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
