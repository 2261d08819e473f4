"""The one typed, frozen configuration of a run: built by the CLI and passed down; nothing below the CLI reads
the environment."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from preprocess.errors import ConfigError

DEFAULT_LATE_WINDOW_DAYS = 3
ENGINES = ("embedded", "athena")
_GLUE_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,200}$")


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
    engine: str = "embedded"
    athena_workgroup: str | None = None
    # `{prefix}_{layer}` are the Glue databases (terraform/modules/catalog); set, partitions get registered.
    glue_database_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"ENGINE must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.engine == "athena" and not (self.athena_workgroup and self.glue_database_prefix):
            raise ConfigError("ENGINE=athena needs ATHENA_WORKGROUP and GLUE_DATABASE_PREFIX")
        if self.glue_database_prefix is not None and not _GLUE_PREFIX.match(self.glue_database_prefix):
            raise ConfigError(
                f"GLUE_DATABASE_PREFIX must be lowercase letters, digits and underscores starting with a "
                f"letter (Glue database names), got {self.glue_database_prefix!r}"
            )
        if self.end < self.start:
            raise ConfigError(f"backfill end {self.end} is before its start {self.start}")
        if self.late_window_days < 0:
            raise ConfigError(f"LATE_WINDOW_DAYS must be 0 or more, got {self.late_window_days}")

    @property
    def horizon(self) -> date:
        """The last features target date a run may create: the day after its last landing date."""
        return self.end + timedelta(days=1)
