"""Failures the CLI turns into an exit code and one line (docs/cli.md, "Exit codes")."""


class PreprocessError(Exception):
    """A failure with a documented exit code; the message names the file, row or field at fault."""

    exit_code = 1


class ConfigError(PreprocessError):
    """Bad usage or configuration: a malformed option, a missing bucket."""

    exit_code = 2


class DataError(PreprocessError):
    """Input data failed its checks; nothing was published."""

    exit_code = 3


class InputMissing(PreprocessError):
    """A required input (a partition, a master-data snapshot) does not exist."""

    exit_code = 4


class AlreadyRunning(PreprocessError):
    """Another run of the same landing dates holds the lock (docs/s3-layout.md, "Locks")."""

    exit_code = 6
