"""Logging: one JSON object per line on stderr when it is not a terminal, readable lines when it is.

Every record has an `event` (a short snake_case name), a `message` and context fields. Pass
`progress=(done, total)` on events of a long loop to get a `[3/12]` counter.
"""

import json
import logging
import sys
from datetime import UTC, date, datetime
from typing import Any, TextIO

UNIT = "train"
LOG_FORMATS = ("auto", "json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_logger = logging.getLogger(UNIT)


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _context(record: logging.LogRecord) -> dict[str, Any]:
    context = dict(getattr(record, "context", {}))
    if "progress" in context:
        done, total = context["progress"]
        context["progress"] = f"{done}/{total}"
    return context


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "unit": UNIT,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=_plain, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = _context(record)
        progress = context.pop("progress", None)
        line = f"{_timestamp(record)} {record.levelname:<7} {getattr(record, 'event', 'log')}: "
        line += f"[{progress}] " if progress else ""
        line += record.getMessage()
        if context:
            line += "  (" + ", ".join(f"{key}={_plain(value)}" for key, value in context.items()) + ")"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(log_format: str = "auto", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Sends the unit's logs to `stream` (stderr by default), as JSON unless it is a terminal."""
    stream = stream or sys.stderr
    use_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    _logger.handlers[:] = [handler]
    _logger.setLevel(level)
    _logger.propagate = False


def _log(level: int, event: str, message: str, exc_info: bool, context: dict[str, Any]) -> None:
    _logger.log(level, message, exc_info=exc_info, extra={"event": event, "context": context})


def debug(event: str, message: str, *, exc_info: bool = False, **context: Any) -> None:
    _log(logging.DEBUG, event, message, exc_info, context)


def info(event: str, message: str, **context: Any) -> None:
    _log(logging.INFO, event, message, False, context)


def warning(event: str, message: str, **context: Any) -> None:
    _log(logging.WARNING, event, message, False, context)


def error(event: str, message: str, **context: Any) -> None:
    _log(logging.ERROR, event, message, False, context)
