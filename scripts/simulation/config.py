"""The typed configuration of a simulation, the random streams it seeds, and the simulator's error."""

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np


class SimulatorError(Exception):
    """A failure the command line turns into one line of text and `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: `days` landing days from `start`, and the world's size and randomness."""

    start: date
    days: int
    stores: int = 10
    items: int = 50
    seed: int = 7
    late_rate: float = 0.02  # share of sales rows that land 1..late_max_days days after their sale date
    late_max_days: int = 3

    def __post_init__(self) -> None:
        checks = [
            (self.days >= 1, f"days must be at least 1, got {self.days}"),
            (1 <= self.stores <= 99, f"stores must be 1..99 (ids S01..S99), got {self.stores}"),
            (1 <= self.items <= 999, f"items must be 1..999 (ids I001..I999), got {self.items}"),
            (0.0 <= self.late_rate <= 1.0, f"late_rate must be within 0..1, got {self.late_rate}"),
            (self.late_max_days >= 1, f"late_max_days must be at least 1, got {self.late_max_days}"),
        ]
        for passed, message in checks:
            if not passed:
                raise SimulatorError(message, exit_code=2)

    @property
    def last_landing_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def truth_days(self) -> list[date]:
        """Every day of the truth: the landing days plus the day after, which the pipeline forecasts."""
        return [self.start + timedelta(days=offset) for offset in range(self.days + 1)]

    def random(self, purpose: str) -> np.random.Generator:
        """A random stream of its own per purpose, so that drawing more of one thing never shifts another.

        Draws are laid out day first, so a longer simulation repeats a shorter one's days exactly.
        """
        return np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])
