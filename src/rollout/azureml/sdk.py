"""azure-ai-ml's habits, tamed: the service's message on one line, no polling dots on stdout,
provisioning states as plain names."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress callback that says nothing."""
    return None


def azure_message(exc: Exception) -> str:
    """The service's own message from an azure-core error, on one line."""
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())


@contextmanager
def sdk_polling_muted() -> Iterator[None]:
    """azure-ai-ml prints a dot to stdout per poll of a deployment; stdout is for our results."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def state_name(state: object) -> str:
    """`Succeeded` rather than `DeploymentProvisioningState.SUCCEEDED`."""
    return str(getattr(state, "value", state) or "Unknown")
