"""The management token that guards the emulator's ARM API.

Azure Resource Manager wants an Entra ID bearer token; the emulator wants the random token in the
`arm-token` file of its state directory (mode 0600), so only its owner can manage endpoints or read
their keys. `rollout.azureml.local_target` reads it for the local MLClient.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "arm-token"


def token_path(state_dir: Path) -> Path:
    return state_dir / TOKEN_FILE


def ensure_management_token(state_dir: Path) -> str:
    """The state directory's management token, created (0600) on first use."""
    path = token_path(state_dir)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    path.chmod(0o600)
    return path.read_text().strip()


def read_management_token(state_dir: Path) -> str:
    """The management token of a started emulator (raises FileNotFoundError before the first start)."""
    return token_path(state_dir).read_text().strip()
