"""Errors that end a run with exit code 2: bad input, named with its fix, on one line."""


class UsageError(Exception):
    """Bad input from the user. ``str(e)`` is one line naming the problem and the fix."""
