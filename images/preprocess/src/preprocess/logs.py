"""Logs on stderr: one JSON object per line off a terminal (ECS, CloudWatch), readable lines on one."""

import json
import logging
import sys
from datetime import UTC, datetime

from preprocess import UNIT

LOG_FORMATS = ("auto", "json", "text")
_logger = logging.getLogger(UNIT)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "unit": UNIT,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        started = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        text = f"{started} {record.levelname.lower():<7} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def configure(log_format: str = "auto", debug: bool = False) -> None:
    """Sends the unit's logs to the current stderr; `auto` means JSON unless stderr is a terminal."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    _logger.handlers[:] = [handler]
    _logger.setLevel(logging.DEBUG if debug else logging.INFO)
    _logger.propagate = False


def info(event: str, message: str, **context) -> None:
    _logger.info(message, extra={"event": event, "context": context})


def warning(event: str, message: str, **context) -> None:
    _logger.warning(message, extra={"event": event, "context": context})


def debug_traceback(event: str, message: str) -> None:
    """Logs the current exception's traceback, at DEBUG only: the CLI's one error line is the user's view."""
    _logger.debug(message, exc_info=True, extra={"event": event, "context": {}})
