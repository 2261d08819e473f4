"""S3 through boto3, which honours AWS_ENDPOINT_URL (the local emulator) by itself."""

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from train import aws

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"})
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_NO_BUCKET_CODES = {"NoSuchBucket", "404", "NotFound", "403", "AccessDenied", "Forbidden"}
# A conditional PUT that lost: 412, the object is not the one read; 409, a concurrent write to it won.
_CHANGED_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
NO_OBJECT = "none"  # `put(replaces=NO_OBJECT)`: create the object, but only if it does not exist yet


class ObjectChanged(Exception):
    """A conditional PUT found the object changed (or created) by another writer since it was read."""


CONTENT_TYPES = {
    ".json": "application/json",
    ".ubj": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
}


def json_bytes(document: Any) -> bytes:
    # allow_nan=False: NaN is not JSON; callers turn undefined numbers into null first.
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


class Storage:
    """The few S3 calls the unit makes, over one client."""

    def __init__(self, client: Any = None):
        self.client = client or aws.client("s3", _RETRIES)

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") in _NO_BUCKET_CODES:
                return False
            raise
        return True

    def get(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such key."""
        found = self.get_with_etag(bucket, key)
        return found[0] if found else None

    def get_with_etag(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag (for a later conditional PUT), or None when there is no such key."""
        try:
            reply = self.client.get_object(Bucket=bucket, Key=key)
        except ClientError as failure:
            if failure.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise
        return reply["Body"].read(), reply["ETag"]

    def list_folders(self, bucket: str, prefix: str) -> list[str]:
        """The names of the folders directly under `prefix` (not their files), sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        folders = [common["Prefix"] for page in pages for common in page.get("CommonPrefixes", [])]
        return sorted(folder[len(prefix) :].rstrip("/") for folder in folders)

    def put(self, bucket: str, key: str, body: bytes, replaces: str | None = None) -> None:
        """Writes the object. With `replaces` (an ETag, or NO_OBJECT), only over that very object: if another
        writer changed it since it was read, nothing is written and ObjectChanged is raised."""
        suffix = key[key.rfind(".") :] if "." in key else ""
        content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
        condition = {}
        if replaces == NO_OBJECT:
            condition = {"IfNoneMatch": "*"}
        elif replaces is not None:
            condition = {"IfMatch": replaces}
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **condition)
        except ClientError as failure:
            if condition and failure.response.get("Error", {}).get("Code") in _CHANGED_CODES:
                raise ObjectChanged(f"s3://{bucket}/{key} changed since it was read") from failure
            raise

    def put_json(self, bucket: str, key: str, document: Any, replaces: str | None = None) -> None:
        self.put(bucket, key, json_bytes(document), replaces)
