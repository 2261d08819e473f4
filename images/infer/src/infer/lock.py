"""One run at a time per run date: a lock object with a lease (docs/s3-layout.md, "Locks").

The lock is taken with a conditional PUT (`If-None-Match: *`): of two runs started together exactly one
creates it; the other finds a live lease and stops with AlreadyRunning. A holder that crashed leaves its lock
behind; once its lease has expired, the next run takes it over with a PUT conditional on the ETag it read
(`If-Match`), so of two runs taking over only one succeeds. The holder renews the lease in a background
thread and deletes the lock at the end, again conditional on its ETag, so it never removes another's lock.
"""

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from infer import UNIT, layout
from infer.errors import AlreadyRunning
from infer.logs import log_event

LOCK_VERSION = 1
LEASE_SECONDS = 300
RENEW_SECONDS = 60  # well within the lease: a holder survives a few failed renewals
TAKE_ATTEMPTS = 3
# 412: the condition failed (the lock exists, or changed since read); 409: a concurrent write to the same key
# won; 404 on an `If-Match` PUT: the lock was deleted since read.
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409", "404"}


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _lost_race(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _LOST_RACE


def _die(message: str) -> None:
    """A run that lost its lease stops at once, as if killed: another run owns the date now, and a killed
    run leaves nothing half-visible (tests/reliability/test_kill_subprocess.py)."""
    print(f"{UNIT}: error: {message}", file=sys.stderr, flush=True)
    os._exit(AlreadyRunning.exit_code)


class Lease:
    """A lock this run holds: renewed in the background from `start()` until `release()`."""

    def __init__(self, s3, bucket: str, key: str, owner: str, etag: str, lease_seconds: int, on_lost):
        self._s3, self.bucket, self.key, self.owner = s3, bucket, key, owner
        self.etag, self._lease_seconds, self._on_lost = etag, lease_seconds, on_lost
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._keep_renewing, name="lock-renewer", daemon=True)

    @property
    def uri(self) -> str:
        return layout.s3_uri(self.bucket, self.key)

    def start(self) -> None:
        self._renewer.start()

    def renew(self) -> bool:
        """Extends the lease; False when it was lost (another run took the lock over)."""
        try:
            self.etag = _put(
                self._s3, self.bucket, self.key, self.owner, self._lease_seconds, IfMatch=self.etag
            )
        except ClientError as error:
            if _lost_race(error):
                return False
            log_event(
                "lock_not_renewed",
                f"could not renew {self.uri}, will retry: {error}",
                level=logging.WARNING,
                lock=self.uri,
            )
        return True

    def release(self) -> None:
        self._stop.set()
        if self._renewer.is_alive():
            self._renewer.join()
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as error:  # the run's outcome stands; a lock left behind expires with its lease
            log_event(
                "lock_not_released",
                f"could not delete {self.uri}: {error}",
                level=logging.WARNING,
                lock=self.uri,
            )

    def _keep_renewing(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            if not self.renew():
                self._on_lost(f"another run took over {self.uri} while run {self.owner} held it; stopped")
                return


def lock_document(owner: str, lease_seconds: int) -> dict:
    now = _now()
    return {
        "lock_version": LOCK_VERSION,
        "unit": UNIT,
        "owner": owner,
        "renewed_at": _stamp(now),
        "expires_at": _stamp(now + timedelta(seconds=lease_seconds)),
    }


def _put(s3, bucket: str, key: str, owner: str, lease_seconds: int, **condition) -> str:
    body = json.dumps(lock_document(owner, lease_seconds), indent=2).encode()
    reply = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition)
    return reply["ETag"]


def _holder(body: bytes) -> tuple[str, datetime | None]:
    """Who holds a lock and when their lease ends; no end for a lock that cannot be read (it counts as
    expired: a lock nobody can renew must not block every later run)."""
    try:
        document = json.loads(body)
        expires_at = datetime.strptime(document["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return str(document.get("owner")), expires_at
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unknown", None


def acquire(
    s3,
    bucket: str,
    key: str,
    owner: str,
    lease_seconds: int = LEASE_SECONDS,
    on_lost: Callable[[str], None] = _die,
) -> Lease:
    """Takes the lock for `owner` or raises AlreadyRunning while another run's lease is live."""
    uri = layout.s3_uri(bucket, key)
    for _ in range(TAKE_ATTEMPTS):
        try:
            etag = _put(s3, bucket, key, owner, lease_seconds, IfNoneMatch="*")
            return Lease(s3, bucket, key, owner, etag, lease_seconds, on_lost)
        except ClientError as error:
            if not _lost_race(error):
                raise
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _lost_race(error):
                continue  # released meanwhile: try to create it again
            raise
        holder, expires_at = _holder(found["Body"].read())
        if holder == owner:
            # Our own PUT was carried out but its reply was lost (the SDK's retry then met the lock it made).
            return Lease(s3, bucket, key, owner, found["ETag"], lease_seconds, on_lost)
        if expires_at is not None and expires_at > _now():
            raise AlreadyRunning(
                f"already running: run {holder} holds {uri} until {_stamp(expires_at)}; "
                "retry after it ends, or after that time if it crashed"
            )
        try:
            etag = _put(s3, bucket, key, owner, lease_seconds, IfMatch=found["ETag"])
        except ClientError as error:
            if _lost_race(error):
                continue  # another run took it over first
            raise
        log_event(
            "lock_taken_over",
            f"took over {uri} from run {holder}, whose lease had expired",
            level=logging.WARNING,
            lock=uri,
        )
        return Lease(s3, bucket, key, owner, etag, lease_seconds, on_lost)
    raise AlreadyRunning(f"already running: other runs kept taking {uri} ({TAKE_ATTEMPTS} attempts)")


@contextmanager
def held(s3, bucket: str, key: str, owner: str) -> Iterator[Lease]:
    """The lock for the duration of a `with` block; released however the block ends (a kill excepted)."""
    lease = acquire(s3, bucket, key, owner)
    log_event("lock_taken", f"run {owner} holds {lease.uri}", lock=lease.uri, run_id=owner)
    lease.start()
    try:
        yield lease
    finally:
        lease.release()
