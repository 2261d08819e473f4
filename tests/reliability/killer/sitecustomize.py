"""Test-only, for the kill tests: Python imports this file at start-up when its folder is on PYTHONPATH, so
it hooks every boto3 client of a unit started as a subprocess, without touching the unit's code.

CALL_TRACE=path appends one line per AWS call: its number, `service.Operation` and `bucket/key`.
KILL_AT_CALL=N makes the process SIGKILL itself just before its N-th AWS call: nothing runs after that, no
`finally`, no thread, no flush, as when a container is killed.
"""

import os

if os.environ.get("CALL_TRACE") or os.environ.get("KILL_AT_CALL"):
    import signal
    import threading

    import boto3

    _calls = 0
    _counting = threading.Lock()  # the units call AWS from several threads
    _kill_at = int(os.environ.get("KILL_AT_CALL") or 0)
    _trace = open(os.environ["CALL_TRACE"], "a", buffering=1) if os.environ.get("CALL_TRACE") else None  # noqa: SIM115

    def _before_call(params, model, **_):  # type: ignore[no-untyped-def]
        global _calls
        with _counting:
            _calls += 1
            if _trace:
                where = f"{params.get('Bucket', params.get('DatabaseName', ''))}/{params.get('Key', '')}"
                _trace.write(f"{_calls}\t{model.service_model.service_name}.{model.name}\t{where}\n")
            if _calls == _kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    boto3.setup_default_session()  # the session boto3.client() uses: every client the unit makes
    boto3.DEFAULT_SESSION.events.register("before-parameter-build", _before_call)
