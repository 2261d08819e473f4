"""Model versions and the champion pointer in the artifacts bucket (docs/s3-layout.md, "Artifacts").

A version folder is written file by file and committed by `_version.json`, its last write. The champion
pointer is replaced in one PUT, only ever naming a committed version whose feature schema infer can use, and
every change is first recorded in the append-only champion history.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import xgboost as xgb

from train import layout
from train.dataset import FEATURE_COLUMNS, FEATURES_SCHEMA
from train.errors import AlreadyRunning, DataCheckError, InputMissingError
from train.model import load_model
from train.storage import NO_OBJECT, ObjectChanged, Storage, json_bytes

PROMOTED_BY_HAND = "promoted by hand"

# The contract's features a model may use, with their Glue types: a champion must use exactly these.
CONTRACT_FEATURES = {name: glue for name, glue in FEATURES_SCHEMA if name in FEATURE_COLUMNS}


@dataclass(frozen=True)
class Champion:
    version: str
    promoted_at: str
    metrics: dict
    earlier_champions: tuple[str, ...]  # what `rollback` returns to, most recent first
    etag: str  # of the pointer as read: a change is written only over this very pointer


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


@dataclass(frozen=True)
class PointerChange:
    model_name: str
    version: str  # the champion now
    replaced: str | None  # the champion before, if any
    reason: str
    changed: bool  # False: the version already was champion, nothing was written

    @property
    def summary(self) -> str:
        if not self.changed:
            return f"version {self.version} already is the champion of {self.model_name}: nothing changed"
        was = self.replaced or "none"
        return f"champion of {self.model_name} is now {self.version} (was {was}): {self.reason}"


@dataclass(frozen=True)
class VersionSummary:
    version: str
    run_date: str
    created_at: str
    promoted: bool
    reason: str
    model_wape: float | None
    champion: bool


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _parse_json(body: bytes, bucket: str, key: str):
    try:
        return json.loads(body)
    except ValueError as failure:
        raise DataCheckError(f"{_uri(bucket, key)} is not valid JSON: {failure}") from None


def contract_feature_schema() -> list[dict]:
    """The `feature_schema.json` of a model trained on the contract's features: [{"name", "type"}]."""
    return [{"name": name, "type": glue} for name, glue in CONTRACT_FEATURES.items()]


def schema_problems(schema) -> list[str]:
    """Why a model with this feature schema cannot run on the contract's features (empty when it can).

    Infer wants a features partition to hold exactly the model's columns with the model's types, so a
    missing, extra or retyped column makes the model unusable."""
    try:
        declared = {column["name"]: column["type"] for column in schema}
    except (TypeError, KeyError):
        return ['it is not a list of {"name", "type"} objects']
    problems = []
    for name, declared_type in declared.items():
        if name not in CONTRACT_FEATURES:
            problems.append(f"column '{name}' is not one of the features")
        elif declared_type != CONTRACT_FEATURES[name]:
            problems.append(
                f"column '{name}' is {declared_type}, the features have {CONTRACT_FEATURES[name]}"
            )
    problems += [f"feature '{name}' is missing" for name in CONTRACT_FEATURES if name not in declared]
    return problems


def read_champion(storage: Storage, bucket: str, model_name: str) -> Champion | None:
    key = layout.champion_key(model_name)
    found = storage.get_with_etag(bucket, key)
    if found is None:
        return None
    body, etag = found
    pointer = _parse_json(body, bucket, key)
    if not isinstance(pointer, dict) or not isinstance(pointer.get("version"), str):
        raise DataCheckError(f"champion pointer {_uri(bucket, key)} is malformed: it names no 'version'")
    return Champion(
        pointer["version"],
        pointer.get("promoted_at", ""),
        pointer.get("metrics", {}),
        tuple(pointer.get("earlier_champions", ())),  # pointers written before the history have none
        etag,
    )


def _version_file(storage: Storage, bucket: str, model_name: str, version: str, name: str) -> bytes:
    key = layout.model_version_prefix(model_name, version) + name
    body = storage.get(bucket, key)
    if body is None:
        raise InputMissingError(f"model version {version} has no {_uri(bucket, key)}")
    return body


def _version_json(storage: Storage, bucket: str, model_name: str, version: str, name: str):
    key = layout.model_version_prefix(model_name, version) + name
    return _parse_json(_version_file(storage, bucket, model_name, version, name), bucket, key)


def _committed_record(storage: Storage, bucket: str, model_name: str, version: str) -> dict:
    """The version's `_version.json`; a version without it does not exist (exit 4)."""
    key = layout.model_version_prefix(model_name, version) + layout.VERSION_MARKER
    body = storage.get(bucket, key)
    if body is None:
        raise InputMissingError(f"model version {version} is not committed: no {_uri(bucket, key)}")
    return _parse_json(body, bucket, key)


def load_version(
    storage: Storage, bucket: str, model_name: str, version: str
) -> tuple[xgb.Booster, list[dict]]:
    """A committed version's model and its feature schema ([{"name", "type"}] in model order)."""
    _committed_record(storage, bucket, model_name, version)
    booster = load_model(_version_file(storage, bucket, model_name, version, layout.MODEL_FILE))
    return booster, _version_json(storage, bucket, model_name, version, layout.FEATURE_SCHEMA_FILE)


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


def _usable_metrics(storage: Storage, bucket: str, model_name: str, version: str) -> dict:
    """The overall metrics of a version that may become champion: committed (else exit 4) and with a
    feature schema infer can use on the contract's features (else exit 3)."""
    _committed_record(storage, bucket, model_name, version)
    problems = schema_problems(
        _version_json(storage, bucket, model_name, version, layout.FEATURE_SCHEMA_FILE)
    )
    if problems:
        schema_key = layout.model_version_prefix(model_name, version) + layout.FEATURE_SCHEMA_FILE
        raise DataCheckError(
            f"model version {version} cannot be champion: its feature schema {_uri(bucket, schema_key)} does "
            f"not match the features ({'; '.join(problems)})"
        )
    metrics = _version_json(storage, bucket, model_name, version, layout.METRICS_FILE)
    return metrics.get("overall", {}).get("model", {})


def _move_pointer(
    storage: Storage,
    bucket: str,
    model_name: str,
    version: str,
    reason: str,
    current: Champion | None,
    earlier_champions: list[str],
) -> PointerChange:
    """Records the change in the champion history, then replaces the pointer in one PUT (atomic: readers
    see the old pointer or the new one), conditional on the pointer still being `current`: of two changes
    made at once (two runs, or a run and `train promote`), the second fails with AlreadyRunning instead of
    silently undoing the first. A history entry whose pointer PUT failed is left behind: the pointer is the
    truth, the history the record of every change attempted."""
    metrics = _usable_metrics(storage, bucket, model_name, version)
    now = datetime.now(UTC)
    pointer = {
        "model_name": model_name,
        "version": version,
        "promoted_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "metrics": metrics,
        "reason": reason,
        "replaced": current.version if current else None,
        "earlier_champions": earlier_champions,
    }
    history_key = layout.champion_history_key(model_name, layout.history_stamp(now), version)
    storage.put_json(bucket, history_key, pointer)
    pointer_key = layout.champion_key(model_name)
    try:
        storage.put_json(bucket, pointer_key, pointer, replaces=current.etag if current else NO_OBJECT)
    except ObjectChanged:
        if storage.get(bucket, pointer_key) == json_bytes(pointer):
            # Our PUT was carried out but its reply was lost: the SDK's retry then met our own pointer.
            return PointerChange(model_name, version, pointer["replaced"], reason, changed=True)
        was = f"champion {current.version}" if current else "no champion"
        raise AlreadyRunning(
            f"the champion of model {model_name} changed while this change was being made (it was {was}): "
            f"{_uri(bucket, pointer_key)} not replaced, version {version} not made champion; see `train "
            "versions`, then promote by hand if it should still be"
        ) from None
    return PointerChange(model_name, version, pointer["replaced"], reason, changed=True)


def promote(storage: Storage, bucket: str, model_name: str, version: str, reason: str) -> PointerChange:
    """Makes `version` champion; the one it replaces becomes the first that a rollback returns to."""
    return _promote(storage, bucket, model_name, version, reason, read_champion(storage, bucket, model_name))


def promote_judged(
    storage: Storage, bucket: str, model_name: str, version: str, reason: str, judged_against: str | None
) -> PointerChange:
    """A run's promotion: as `promote`, if the champion is still `judged_against`, the version the gate
    compared with (None: there was none). If it is another by now, the verdict no longer holds: nothing
    changes and AlreadyRunning is raised."""
    current = read_champion(storage, bucket, model_name)
    now_champion = current.version if current else None
    if now_champion != judged_against:
        raise AlreadyRunning(
            f"the champion of model {model_name} changed while this run was judged against "
            f"{judged_against or 'no champion'} (it is now {now_champion}): version {version} not made "
            "champion; see `train versions`, then promote by hand if it should still be"
        )
    return _promote(storage, bucket, model_name, version, reason, current)


def _promote(
    storage: Storage, bucket: str, model_name: str, version: str, reason: str, current: Champion | None
) -> PointerChange:
    if current is not None and current.version == version:
        _usable_metrics(storage, bucket, model_name, version)  # still refuses a version infer cannot use
        return PointerChange(model_name, version, version, reason, changed=False)
    earlier = [current.version, *current.earlier_champions] if current else []
    return _move_pointer(storage, bucket, model_name, version, reason, current, earlier)


def rollback(storage: Storage, bucket: str, model_name: str) -> PointerChange:
    """Makes the champion before the current one champion again (an undo of the last promotion)."""
    current = read_champion(storage, bucket, model_name)
    pointer_uri = _uri(bucket, layout.champion_key(model_name))
    if current is None:
        raise InputMissingError(f"model {model_name} has no champion to roll back: no {pointer_uri}")
    if not current.earlier_champions:
        raise InputMissingError(
            f"champion {current.version} of model {model_name} has no earlier champion to roll back to "
            f"({pointer_uri} lists none)"
        )
    target, *older = current.earlier_champions
    return _move_pointer(
        storage, bucket, model_name, target, f"rolled back from {current.version}", current, older
    )


def list_versions(storage: Storage, bucket: str, model_name: str) -> list[VersionSummary]:
    """Every committed version, newest first (a version is the run id, which starts with its start time).
    Folders without `_version.json` are abandoned runs and are left out."""
    champion = read_champion(storage, bucket, model_name)
    summaries = []
    for version in reversed(storage.list_folders(bucket, layout.versions_prefix(model_name))):
        prefix = layout.model_version_prefix(model_name, version)
        record_body = storage.get(bucket, prefix + layout.VERSION_MARKER)
        if record_body is None:
            continue
        record = _parse_json(record_body, bucket, prefix + layout.VERSION_MARKER)
        metrics_body = storage.get(bucket, prefix + layout.METRICS_FILE)
        metrics = _parse_json(metrics_body, bucket, prefix + layout.METRICS_FILE) if metrics_body else {}
        summaries.append(
            VersionSummary(
                version=version,
                run_date=record.get("run_date", ""),
                created_at=record.get("created_at", ""),
                promoted=bool(record.get("promoted")),
                reason=record.get("reason", ""),
                model_wape=metrics.get("overall", {}).get("model", {}).get("wape"),
                champion=champion is not None and champion.version == version,
            )
        )
    return summaries


def versions_table(summaries: list[VersionSummary]) -> str:
    """A plain text table, one version a line, columns padded to line up."""
    header = ("version", "run_date", "created_at", "champion", "gate", "model_wape", "reason")
    rows = [
        (
            summary.version,
            summary.run_date,
            summary.created_at,
            "*" if summary.champion else "",
            "promoted" if summary.promoted else "rejected",
            "" if summary.model_wape is None else f"{summary.model_wape:.4f}",
            summary.reason,
        )
        for summary in summaries
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
