"""Failures the unit expects, each carrying the exit code documented in docs/cli.md."""


class TrainError(Exception):
    """Base of the expected failures; the CLI turns one into its exit code and one line on stderr."""

    exit_code = 1


class ConfigError(TrainError):
    """Bad usage or configuration: a malformed value, an impossible combination, a missing bucket."""

    exit_code = 2


class DataCheckError(TrainError):
    """The data failed a check; nothing was published."""

    exit_code = 3


class InputMissingError(TrainError):
    """A required input is missing: a partition or a model."""

    exit_code = 4


class NotPromotedError(TrainError):
    """The new version was published but not promoted, and the run was asked to fail then."""

    exit_code = 5


class AlreadyRunning(TrainError):
    """Another run of the same date holds the lock (docs/s3-layout.md, "Locks"), or another run or command
    changed the champion pointer while this one was deciding."""

    exit_code = 6
