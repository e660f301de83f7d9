"""The one exception type whose message reaches the user as a single line."""


class SweepError(Exception):
    """Bad input or an unusable state: the CLI prints the message and exits with `exit_status`."""

    exit_status = 2


class SpecError(SweepError, ValueError):
    """A parameter space or spec file that cannot be used as written."""
