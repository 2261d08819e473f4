"""boto3 clients whose failures name the call that failed: the service, the operation and what it was about
(an S3 object, a Glue table, an Athena workgroup or query), so that the CLI's one line says what to look at.

The SDK retries throttling and server errors itself (each client's retry Config); an error reaches the unit
only once those retries are spent, and `describe` then turns it into that line.
"""

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

_FAILED_CALL = "FailedCall"  # where a failed response keeps the name of its call (ClientError.response)


def client(service: str, config: Config):  # type: ignore[no-untyped-def]
    made = boto3.client(service, config=config)
    made.meta.events.register("before-parameter-build", _remember_call)
    made.meta.events.register("after-call", _name_failed_response)
    made.meta.events.register("after-call-error", _name_failed_request)
    return made


def _subject(params: dict) -> str:
    if "Bucket" in params:
        return f"s3://{params['Bucket']}/{params.get('Key', params.get('Prefix', ''))}"
    if "DatabaseName" in params:
        return ".".join(filter(None, (params["DatabaseName"], params.get("TableName", params.get("Name")))))
    return str(params.get("QueryExecutionId") or params.get("WorkGroup") or "")


def _remember_call(params, model, context, **_) -> None:  # type: ignore[no-untyped-def]
    service = model.service_model.service_name
    context[_FAILED_CALL] = " ".join(filter(None, (service, model.name, _subject(params))))


def _name_failed_response(http_response, parsed, context, **_) -> None:  # type: ignore[no-untyped-def]
    if http_response.status_code >= 300 and _FAILED_CALL in context:
        parsed[_FAILED_CALL] = context[_FAILED_CALL]


def _name_failed_request(exception, context, **_) -> None:  # type: ignore[no-untyped-def]
    if _FAILED_CALL in context:
        exception.failed_call = context[_FAILED_CALL]


def describe(error: ClientError | BotoCoreError) -> str:
    """`aws call s3 PutObject s3://bucket/key failed after 4 retries: SlowDown: Please reduce ...`."""
    if isinstance(error, ClientError):
        call = error.response.get(_FAILED_CALL, error.operation_name)
        retries = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        detail = error.response.get("Error", {})
        reason = f"{detail.get('Code', 'error')}: {detail.get('Message', '')}".rstrip(": ")
        return f"aws call {call} failed after {retries} retries: {reason}"
    return f"aws call {getattr(error, 'failed_call', 'to AWS')} failed: {error}"
