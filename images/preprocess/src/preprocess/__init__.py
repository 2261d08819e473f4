"""Make-the-data unit: raw CSV in the lake -> typed Parquet in the warehouse -> features in the mart."""

UNIT = "preprocess"
