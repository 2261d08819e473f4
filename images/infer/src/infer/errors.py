"""Failures the unit expects, each carrying the exit code docs/cli.md gives it."""


class InferError(Exception):
    """Base of the expected failures; the CLI turns one into its exit code and one line on stderr."""

    exit_code = 1


class ConfigError(InferError):
    """Bad usage or configuration: a malformed option, a bucket that does not exist."""

    exit_code = 2


class DataCheckError(InferError):
    """The data or the model failed a check; nothing was published."""

    exit_code = 3


class InputMissingError(InferError):
    """A required input is missing: the features partition, the champion, a model version."""

    exit_code = 4


class AlreadyRunning(InferError):
    """Another run of the same date holds the lock (docs/s3-layout.md, "Locks")."""

    exit_code = 6
