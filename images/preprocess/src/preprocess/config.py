"""The one typed, frozen configuration of a run: built by the CLI and passed down; nothing below the CLI reads
the environment."""

from dataclasses import dataclass
from datetime import date, timedelta

from preprocess.errors import ConfigError

DEFAULT_LATE_WINDOW_DAYS = 3


@dataclass(frozen=True)
class Buckets:
    lake: str
    warehouse: str
    mart: str

    def of(self, layer: str) -> str:
        return {"lake": self.lake, "warehouse": self.warehouse, "mart": self.mart}[layer]


@dataclass(frozen=True)
class RunConfig:
    """What landed in [start, end] (landing dates) is processed; `run --date D` is start = end = D."""

    start: date
    end: date
    buckets: Buckets
    late_window_days: int = DEFAULT_LATE_WINDOW_DAYS
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(f"backfill end {self.end} is before its start {self.start}")
        if self.late_window_days < 0:
            raise ConfigError(f"LATE_WINDOW_DAYS must be 0 or more, got {self.late_window_days}")

    @property
    def horizon(self) -> date:
        """The last features target date a run may create: the day after its last landing date."""
        return self.end + timedelta(days=1)
