"""Fault injection for every boto3 client a unit makes: a `before-send` hook, registered ahead of moto's, that
answers a seeded share of the requests with the errors AWS returns under load (500, 503 SlowDown, 400
ThrottlingException, ...). The SDK sees a real error response and retries it by its own rules, so what the
tests prove is the units' retry configuration, not a fake of it.

A transient fault hits one request at most `max_in_a_row` times in a row, fewer than the SDK's retries, so a
run must succeed through them; a persistent fault hits every request it matches, so the run must fail.
"""

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date

import boto3
import duckdb
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HeadersDict
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber
from preprocess.catalog import Catalog
from preprocess.config import RunConfig
from preprocess.engine import PARTITIONED_SCHEMAS, partition_reads, to_duckdb
from preprocess.storage import Storage, encode_parquet

# What a throttled or failing service answers, by the protocol of its API.
S3_FAULTS = (
    (500, "InternalError", "We encountered an internal error. Please try again."),
    (503, "SlowDown", "Please reduce your request rate."),
    (503, "ServiceUnavailable", "Service is unable to handle request."),
)
JSON_FAULTS = (
    (400, "ThrottlingException", "Rate exceeded"),
    (400, "Throttling", "Rate exceeded"),
    (500, "InternalServerException", "Internal server error"),
    (503, "ServiceUnavailableException", "Service unavailable"),
)


_FAULTED = "answered_with_a_fault"  # marks a request the hook answered


class _Body:
    """The raw stream botocore reads an error response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


def fault_response(request: AWSPreparedRequest, protocol: str, status: int, code: str, message: str):
    if protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
        headers = {"Content-Type": "application/xml"}
    else:
        body = json.dumps({"__type": code, "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return AWSResponse(request.url, status, HeadersDict(headers), _Body(body.encode()))


class Faults:
    """Install with `install(monkeypatch)` before the unit makes its clients.

    `rate`: the share of requests that get a transient fault. `persistent(call, request)`: True for the
    requests that always fail, `call` being `service.Operation` (e.g. `s3.PutObject`); the request has the
    `url` (S3: bucket and key) and the `body` (JSON APIs: the parameters).
    """

    def __init__(
        self,
        seed: int = 0,
        rate: float = 0.0,
        max_in_a_row: int = 2,
        persistent: Callable[[str, AWSPreparedRequest], bool] = lambda call, request: False,
    ) -> None:
        self._random = random.Random(seed)
        self._rate, self._max_in_a_row, self._persistent = rate, max_in_a_row, persistent
        self._lock = threading.Lock()
        self._in_a_row: Counter[tuple[str, str, str]] = Counter()
        self.requests: Counter[str] = Counter()  # by `service.Operation`
        self.injected: Counter[str] = Counter()
        self.clients: list[str] = []  # the service of every client made

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "Faults":
        make_client = boto3.client

        def client(service_name, *args, **kwargs):
            made = make_client(service_name, *args, **kwargs)
            protocol = made.meta.service_model.protocol
            made.meta.events.register_first("before-send", lambda **event: self._send(protocol, **event))
            self.clients.append(service_name)
            return made

        monkeypatch.setattr(boto3, "client", client)
        # The SDK's backoff sleeps up to seconds between attempts; the tests keep the retries, not the waits.
        monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda backoff, context: 0.0)
        # botocore calls every `before-send` handler and sends the first response: moto's handler would
        # still carry out a request answered with a fault. A throttled request is not carried out: moto skips.
        moto_send = BotocoreStubber.__call__

        def send_unless_faulted(stubber, event_name, request, **kwargs):
            if getattr(request, _FAULTED, False):
                return None
            return moto_send(stubber, event_name, request, **kwargs)

        monkeypatch.setattr(BotocoreStubber, "__call__", send_unless_faulted)
        return self

    def _send(self, protocol: str, event_name: str, request: AWSPreparedRequest, **_):
        call = ".".join(event_name.split(".")[1:3])  # before-send.{service}.{Operation}
        identity = (call, request.method, request.url)
        with self._lock:
            self.requests[call] += 1
            if self._persistent(call, request):
                fail = True
            else:
                fail = self._in_a_row[identity] < self._max_in_a_row and self._random.random() < self._rate
            self._in_a_row[identity] = self._in_a_row[identity] + 1 if fail else 0
            setattr(request, _FAULTED, fail)  # a retry may send the same request object again
            if not fail:
                return None  # on to moto
            self.injected[call] += 1
            status, code, message = self._random.choice(S3_FAULTS if protocol == "rest-xml" else JSON_FAULTS)
        return fault_response(request, protocol, status, code, message)

    @property
    def share(self) -> float:
        return sum(self.injected.values()) / max(1, sum(self.requests.values()))


# -- Athena ----------------------------------------------------------------------------------------------


UNLOAD = r"UNLOAD \(SELECT \* FROM \(\n(.*)\n\)\) TO '([^']+)' WITH .*"  # athena.unload_statement


class FakeAthena:
    """Athena for preprocess's athena engine, in process (moto's Athena runs no SQL): every Athena call of the
    clients made while installed is answered here. A started UNLOAD runs its query on DuckDB over what the
    contract's readers see (committed partitions, the lake as the CSV SerDe reads it) and writes Parquet under
    its target, or, when `failure(sql_name, attempt)` names one, ends FAILED after leaving a partial file, as
    Athena does. `failure` returns None (succeed), "retryable" (AthenaError.Retryable) or "user" (not)."""

    def __init__(self, s3, buckets, glue_prefix: str, results_bucket: str, failure) -> None:
        self._s3, self._buckets, self._glue_prefix = s3, buckets, glue_prefix
        self._results_bucket, self._failure = results_bucket, failure
        self._lock = threading.Lock()
        self.executions: dict[str, dict] = {}  # query id -> Status
        self.attempts: Counter[str] = Counter()  # by SQL file

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "FakeAthena":
        make_client = boto3.client

        def client(service_name, *args, **kwargs):
            made = make_client(service_name, *args, **kwargs)
            if service_name == "athena":
                made.meta.events.register_first("before-call.athena", self._call)
            return made

        monkeypatch.setattr(boto3, "client", client)
        return self

    def _call(self, model, params, **_):
        request = json.loads(params["body"] or b"{}")
        answer = getattr(self, f"_{model.name}")(request)
        return AWSResponse(params["url"], 200, HeadersDict(), _Body(b"")), answer

    def _GetWorkGroup(self, request: dict) -> dict:
        location = {"OutputLocation": f"s3://{self._results_bucket}/"}
        return {
            "WorkGroup": {"Name": request["WorkGroup"], "Configuration": {"ResultConfiguration": location}}
        }

    def _StartQueryExecution(self, request: dict) -> dict:
        unload = re.fullmatch(UNLOAD, request["QueryString"], re.DOTALL)
        sql, target = unload[1], unload[2]
        bucket, prefix = target.removeprefix("s3://").split("/", 1)
        sql_name = prefix.rstrip("/").split("/")[-2].replace("-", "/", 1)
        with self._lock:
            self.attempts[sql_name] += 1
            failure = self._failure(sql_name, self.attempts[sql_name])
            query_id = f"query-{len(self.executions) + 1:04d}"
        if failure is None:
            body, status = self._unload(sql), {"State": "SUCCEEDED"}
        else:
            body = b"half-written by a failed query"
            error = {"ErrorCategory": 1 if failure == "retryable" else 2, "Retryable": failure == "retryable"}
            status = {
                "State": "FAILED",
                "StateChangeReason": f"injected {failure} error",
                "AthenaError": error,
            }
        self._s3.put_object(Bucket=bucket, Key=f"{prefix}{query_id}_0", Body=body)
        self.executions[query_id] = status
        return {"QueryExecutionId": query_id}

    def _GetQueryExecution(self, request: dict) -> dict:
        query_id = request["QueryExecutionId"]
        status = self.executions[query_id]
        return {"QueryExecution": {"QueryExecutionId": query_id, "Status": status,
                                   "Statistics": {"DataScannedInBytes": 0}}}  # fmt: skip

    def _unload(self, sql: str) -> bytes:
        """The query's result as Parquet, the SQL's schemas read back from their Glue database names."""
        for layer in PARTITIONED_SCHEMAS:
            sql = sql.replace(f'"{self._glue_prefix}_{layer}".', f"{layer}.")
        storage = Storage(self._s3)
        catalog = Catalog(storage, RunConfig(date.min, date.min, self._buckets))
        with duckdb.connect(config={"autoload_known_extensions": False}) as con:
            for name, intervals in partition_reads(sql).items():
                layer, table = name.split(".")
                con.register(f"arrow_{layer}_{table}", catalog.load(name, intervals))
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM arrow_{layer}_{table}")
            result = con.sql(to_duckdb(sql)).to_arrow_table()
        return encode_parquet(result)
