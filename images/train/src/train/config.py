"""The one typed, frozen configuration of a train run, built by the CLI and passed down."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from train.errors import ConfigError
from train.layout import new_run_id

DEFAULT_MODEL_NAME = "demand"
DEFAULT_WINDOW_DAYS = 56
DEFAULT_VALIDATION_DAYS = 14
DEFAULT_SEED = 42
DEFAULT_PROMOTION_MARGIN = 0.0

# The model name becomes a folder in the artifacts bucket: keep it to characters that need no escaping.
MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_run_date(text: str) -> date:
    try:
        if len(text) != 10:  # fromisoformat also takes 20260301; the contract's dates are YYYY-MM-DD
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"malformed run date {text!r}: expected YYYY-MM-DD") from None


@dataclass(frozen=True)
class TrainConfig:
    run_date: date
    mart_bucket: str
    artifacts_bucket: str
    model_name: str = DEFAULT_MODEL_NAME
    window_days: int = DEFAULT_WINDOW_DAYS
    validation_days: int = DEFAULT_VALIDATION_DAYS
    seed: int = DEFAULT_SEED
    promotion_margin: float = DEFAULT_PROMOTION_MARGIN
    run_id: str = field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        if not self.mart_bucket:
            raise ConfigError("the mart bucket name is empty (MART_BUCKET)")
        if not self.artifacts_bucket:
            raise ConfigError("the artifacts bucket name is empty (ARTIFACTS_BUCKET)")
        if not MODEL_NAME_PATTERN.fullmatch(self.model_name):
            raise ConfigError(
                f"model name {self.model_name!r} (MODEL_NAME) must be letters, digits, '_', '-' or '.'"
            )
        if self.validation_days < 1:
            raise ConfigError(f"VALIDATION_DAYS must be at least 1, got {self.validation_days}")
        if self.validation_days >= self.window_days:
            raise ConfigError(
                f"VALIDATION_DAYS ({self.validation_days}) must be smaller than TRAIN_WINDOW_DAYS "
                f"({self.window_days}) to leave days to train on"
            )
        if not 0 <= self.seed < 2**31:
            raise ConfigError(f"SEED must be between 0 and {2**31 - 1}, got {self.seed}")
        if not 0.0 <= self.promotion_margin < 1.0:
            raise ConfigError(f"PROMOTION_MARGIN must be in [0, 1), got {self.promotion_margin}")

    @property
    def window_dates(self) -> list[date]:
        """The `window_days` dates ending at the run date, oldest first."""
        first = self.run_date - timedelta(days=self.window_days - 1)
        return [first + timedelta(days=offset) for offset in range(self.window_days)]

    @property
    def training_dates(self) -> list[date]:
        return self.window_dates[: -self.validation_days]

    @property
    def validation_dates(self) -> list[date]:
        # The last days of the window: the model is judged on days after everything it learned from.
        return self.window_dates[-self.validation_days :]
