"""The one typed, frozen configuration of a train run, built by the CLI and passed down."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from train.errors import ConfigError
from train.layout import RUN_ID_PATTERN, new_run_id
from train.memory import AUTO, MEMORY_MODES

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


def check_model_location(artifacts_bucket: str, model_name: str) -> None:
    if not artifacts_bucket:
        raise ConfigError("the artifacts bucket name is empty (ARTIFACTS_BUCKET)")
    if not MODEL_NAME_PATTERN.fullmatch(model_name):
        raise ConfigError(f"model name {model_name!r} (MODEL_NAME) must be letters, digits, '_', '-' or '.'")


def parse_version(text: str) -> str:
    """A model version is the run id of the train run that made it; anything else cannot be a version."""
    if not RUN_ID_PATTERN.fullmatch(text):
        raise ConfigError(
            f"malformed model version {text!r} (MODEL_VERSION): expected a run id such as "
            "20260301T020000Z-1a2b3c4d"
        )
    return text


@dataclass(frozen=True)
class RegistryConfig:
    """Where the model's versions and champion pointer are: what `versions`, `promote` and `rollback` need."""

    artifacts_bucket: str
    model_name: str = DEFAULT_MODEL_NAME

    def __post_init__(self) -> None:
        check_model_location(self.artifacts_bucket, self.model_name)


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
    memory_mode: str = AUTO  # see memory.py
    memory_limit_bytes: int | None = None  # what the task may use; None: unknown
    cache_dir: str | None = None  # parent of the external-memory cache; None: the system's temp folder
    fail_if_not_promoted: bool = False  # exit 5 when the new version is not promoted
    mlflow_tracking_uri: str | None = None  # None: no MLflow tracking
    mlflow_experiment_name: str | None = None  # None: the model name
    run_id: str = field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        if not self.mart_bucket:
            raise ConfigError("the mart bucket name is empty (MART_BUCKET)")
        check_model_location(self.artifacts_bucket, self.model_name)
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
        if self.memory_mode not in MEMORY_MODES:
            raise ConfigError(
                f"TRAIN_MEMORY_MODE must be one of {', '.join(MEMORY_MODES)}, got {self.memory_mode!r}"
            )
        if self.memory_limit_bytes is not None and self.memory_limit_bytes <= 0:
            raise ConfigError(
                f"TRAIN_MEMORY_LIMIT_MIB must be positive, got {self.memory_limit_bytes // 2**20}"
            )

    @property
    def mlflow_experiment(self) -> str:
        return self.mlflow_experiment_name or self.model_name

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
