"""Logs on stderr: one JSON object per line for CloudWatch, readable lines on a terminal (docs/cli.md)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from infer import UNIT

logger = logging.getLogger(UNIT)

LOG_FORMATS = ("auto", "json", "text")


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "unit": UNIT,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{key}={value}" for key, value in getattr(record, "context", {}).items())
        line = f"{_timestamp(record)} {record.levelname:<7} {record.getMessage()}"
        if context:
            line += f"  [{context}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(log_format: str = "auto", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Routes the unit's logger to `stream` (stderr); `auto` means JSON unless the stream is a terminal."""
    stream = stream or sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    logger.handlers[:] = [handler]  # configure() may run more than once in one process (tests)
    logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    logger.propagate = False


def log_event(event: str, message: str, level: int = logging.INFO, **context: Any) -> None:
    """One log line: `event` is a short snake_case name, `context` the fields a reader filters on."""
    logger.log(level, message, extra={"event": event, "context": context})
