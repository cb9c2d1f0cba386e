"""Reading a YAML file of the repository, its problems as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rollout.core.errors import UserError


def read_yaml(path: Path, what: str) -> Any:
    """The document in `path`; a UserError naming `what` (the file, as a message names it) when it
    is missing or is not valid YAML."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} not found") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{what} is not valid YAML: {exc}".replace("\n", " ")) from None
