"""Model versions and the champion pointer in the artifacts bucket (docs/s3-layout.md, "Artifacts").

A version folder is written file by file and committed by `_version.json`, its last write. The champion
pointer is replaced in one PUT, and only ever after the version it names is committed.
"""

import json
import math
from dataclasses import dataclass

import xgboost as xgb

from train import layout
from train.errors import DataCheckError, InputMissingError
from train.model import load_model
from train.storage import Storage


@dataclass(frozen=True)
class Champion:
    version: str
    promoted_at: str
    metrics: dict


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


def read_champion(storage: Storage, bucket: str, model_name: str) -> Champion | None:
    key = layout.champion_key(model_name)
    body = storage.get(bucket, key)
    if body is None:
        return None
    try:
        pointer = json.loads(body)
        return Champion(pointer["version"], pointer.get("promoted_at", ""), pointer.get("metrics", {}))
    except (ValueError, KeyError, TypeError) as failure:
        raise DataCheckError(f"champion pointer s3://{bucket}/{key} is malformed: {failure!r}") from None


def load_version(
    storage: Storage, bucket: str, model_name: str, version: str
) -> tuple[xgb.Booster, list[dict]]:
    """A committed version's model and its feature schema ([{"name", "type"}] in model order)."""
    prefix = layout.model_version_prefix(model_name, version)
    if storage.get(bucket, prefix + layout.VERSION_MARKER) is None:
        raise InputMissingError(
            f"model version {version} is not committed: no s3://{bucket}/{prefix}_version.json"
        )
    raw = {}
    for name in (layout.MODEL_FILE, layout.FEATURE_SCHEMA_FILE):
        raw[name] = storage.get(bucket, prefix + name)
        if raw[name] is None:
            raise InputMissingError(f"model version {version} has no s3://{bucket}/{prefix}{name}")
    return load_model(raw[layout.MODEL_FILE]), json.loads(raw[layout.FEATURE_SCHEMA_FILE])


def decide_promotion(
    model_wape: float,
    best_baseline: tuple[str, float],
    champion: tuple[str, float] | None,
    margin: float,
) -> GateDecision:
    """The champion gate: promote only a model at least `margin` better (relative WAPE) than the champion
    and than the best baseline. With no champion yet the first model is promoted, so infer has one to use."""
    if champion is None:
        return GateDecision(True, "no champion yet: the first version becomes champion")
    if math.isnan(model_wape):
        return GateDecision(False, "not promoted: the model's WAPE is undefined (nothing sold in validation)")
    keep = 1.0 - margin
    rivals = [
        (f"champion {champion[0]}", champion[1]),
        (f"best baseline {best_baseline[0]}", best_baseline[1]),
    ]
    # A rival whose WAPE is undefined (a champion that cannot read today's features) sets no bar.
    rivals = [(rival, wape) for rival, wape in rivals if not math.isnan(wape)]
    for rival, rival_wape in rivals:
        if not model_wape <= rival_wape * keep:
            return GateDecision(
                False,
                f"not promoted: WAPE {model_wape:.4f} is above {rival} WAPE {rival_wape:.4f} "
                f"x (1 - margin {margin:g}) = {rival_wape * keep:.4f}",
            )
    beaten = ", ".join(f"{rival} ({rival_wape:.4f})" for rival, rival_wape in rivals)
    return GateDecision(
        True, f"promoted: WAPE {model_wape:.4f} is at most (1 - margin {margin:g}) x {beaten}"
    )


def publish_version(
    storage: Storage, bucket: str, model_name: str, version: str, files: dict[str, bytes], record: dict
) -> None:
    """Writes the version's files, then `_version.json` last: before that PUT the version does not exist."""
    prefix = layout.model_version_prefix(model_name, version)
    for name, body in files.items():
        storage.put(bucket, prefix + name, body)
    storage.put_json(bucket, prefix + layout.VERSION_MARKER, record)


def promote(
    storage: Storage, bucket: str, model_name: str, version: str, promoted_at: str, metrics: dict
) -> dict:
    """Points the champion at `version` in one PUT (atomic: readers see the old pointer or the new one)."""
    pointer = {"model_name": model_name, "version": version, "promoted_at": promoted_at, "metrics": metrics}
    storage.put_json(bucket, layout.champion_key(model_name), pointer)
    return pointer
