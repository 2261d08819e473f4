"""build/bench/results.json: one entry per scenario, each a list of figures against their goals.

A scenario run replaces its own entry and keeps the others, so scenarios can be re-run one at a time.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS_PATH = Path("build/bench/results.json")


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str = ""
    goal: str = ""  # e.g. "<= 1.15"; empty for a figure reported without a goal
    passed: bool | None = None


def at_most(name: str, value: float, limit: float, unit: str = "x") -> Figure:
    return Figure(name, value, unit, f"<= {limit:g}", value <= limit)


def load(path: Path = RESULTS_PATH) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save(scenario: str, figures: list[Figure], details: dict, path: Path = RESULTS_PATH) -> None:
    results = load(path)
    results[scenario] = {"figures": [asdict(figure) for figure in figures], "details": details}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def show(title: str, figures: list[Figure]) -> None:
    print(title, flush=True)
    for figure in figures:
        verdict = "" if figure.passed is None else ("PASS" if figure.passed else "MISS")
        print(f"  {figure.name:<52} {figure.value:>12.4g} {figure.unit:<6} {figure.goal:<10} {verdict}")
