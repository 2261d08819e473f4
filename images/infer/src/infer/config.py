"""The one typed, frozen configuration of a run, built by the CLI and passed down."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from infer.errors import ConfigError
from infer.layout import RUN_ID_PATTERN

DEFAULT_MODEL_NAME = "demand"
HORIZON_DAYS = 1  # infer predicts features D + 1 for run date D (docs/s3-layout.md, "Run date and horizon")

_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
# A model name becomes one key segment under models/, so it may not hold a slash.
_MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# `{prefix}_mart` must be a Glue database name (terraform/modules/catalog).
_GLUE_PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,200}")


def parse_date(text: str) -> date:
    """`YYYY-MM-DD` only: date.fromisoformat alone would also take `20260301` and other ISO forms."""
    if not _DATE_PATTERN.fullmatch(text):
        raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a calendar date") from None


@dataclass(frozen=True)
class InferConfig:
    run_date: date
    mart_bucket: str
    artifacts_bucket: str
    model_name: str = DEFAULT_MODEL_NAME
    model_version: str | None = None  # None: the version champion.json names
    glue_database_prefix: str | None = None  # set: the predictions partition is registered in `{prefix}_mart`

    def __post_init__(self) -> None:
        if not self.mart_bucket:
            raise ConfigError("MART_BUCKET (--mart-bucket) is empty")
        if not self.artifacts_bucket:
            raise ConfigError("ARTIFACTS_BUCKET (--artifacts-bucket) is empty")
        if not _MODEL_NAME_PATTERN.fullmatch(self.model_name):
            raise ConfigError(f"MODEL_NAME (--model-name) '{self.model_name}' is not a valid model name")
        if self.model_version is not None and not RUN_ID_PATTERN.fullmatch(self.model_version):
            raise ConfigError(
                f"MODEL_VERSION (--model-version) '{self.model_version}' is not a version id "
                "(the run id of a train run, e.g. 20260301T020000Z-1a2b3c4d)"
            )
        if self.glue_database_prefix is not None and not _GLUE_PREFIX_PATTERN.fullmatch(
            self.glue_database_prefix
        ):
            raise ConfigError(
                f"GLUE_DATABASE_PREFIX (--glue-database-prefix) '{self.glue_database_prefix}' must be "
                "lowercase letters, digits and underscores starting with a letter (Glue database names)"
            )

    @property
    def target_date(self) -> date:
        """The day the predictions are for: the features and predictions partition `dt`."""
        return self.run_date + timedelta(days=HORIZON_DAYS)
