"""The engine's error type: a problem the user can fix, which the command line ends in one
`error: <message>` line on stderr and a non-zero exit (`rollout.cli` maps it), never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: `message`, and `exit_code`, the status a command ends with (1
    unless set)."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code
