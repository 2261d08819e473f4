"""Glue: point the predictions table's partition at the run folder just committed, so Athena reads it.

docs/s3-layout.md, "Publishing" step 3: partitions are registered, not projected, because a partition's
folder changes at every publish; the re-pointing is Athena's commit, made after the manifest's.
"""

from __future__ import annotations

from datetime import date

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infer import aws
from infer.errors import InferError
from infer.logs import log_event


class RegistrationRefused(InferError):
    """Glue refused the partition (or could not be reached): the predictions are committed in S3, but
    Athena still sees the partition's previous folder (or none)."""

    exit_code = 1


def glue_client():
    """boto3 finds the region, credentials and AWS_ENDPOINT_URL (the emulator) in the environment itself."""
    return aws.client("glue", Config(retries={"mode": "standard", "max_attempts": 5}))


def mart_database(prefix: str) -> str:
    """The mart layer's Glue database, as terraform/modules/catalog names it."""
    return f"{prefix}_mart"


def register_partition(glue, database: str, table: str, dt: date, location: str) -> None:
    """Creates partition `dt` of `database.table` at `location`, or points the existing one there. The
    partition takes the table's storage descriptor (columns, Parquet SerDe) with its own location."""
    try:
        descriptor = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
        descriptor["Location"] = location
        partition = {"Values": [dt.isoformat()], "StorageDescriptor": descriptor}
        try:
            glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=partition)
            action = "created"
        except ClientError as error:
            if _error_code(error) != "AlreadyExistsException":
                raise
            glue.update_partition(
                DatabaseName=database,
                TableName=table,
                PartitionValueList=[dt.isoformat()],
                PartitionInput=partition,
            )
            action = "re-pointed"
    except (ClientError, BotoCoreError) as error:
        raise RegistrationRefused(
            f"glue refused partition dt={dt} of {database}.{table} ({aws.describe(error)}); the predictions "
            f"are committed at {location} but Athena does not see them: fix Glue, then run infer again"
        ) from None
    log_event(
        "partition_registered",
        f"{database}.{table} dt={dt} {action} at {location}",
        table=f"{database}.{table}",
        dt=dt.isoformat(),
        location=location,
    )


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "error")
