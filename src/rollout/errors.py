"""Errors a user can cause: they end in one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys

# typer vendors click; its ClickException is what the CLI turns into a message and exit code.
from typer._click.exceptions import ClickException


class UserError(ClickException):
    """A problem the user can fix; printed as `error: <message>`, never as a traceback."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    def show(self, file=None) -> None:
        print(f"error: {self.format_message()}", file=file or sys.stderr)
