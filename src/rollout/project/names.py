"""Naming rules: Azure's for endpoints and deployments, MLflow's for models, GitHub's for environments."""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$")
NAME_LENGTH = (3, 32)
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
STAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,254}$")
MODEL_REFERENCE = re.compile(r"^azureml:(?P<name>[^:/@]+):(?P<version>[^:/@]+)$")


def name_problems(value: Any) -> list[str]:
    """What is wrong with an endpoint or deployment name (Azure's rules)."""
    if not isinstance(value, str):
        return [f"must be a string (got {value!r})"]
    low, high = NAME_LENGTH
    found = []
    if not low <= len(value) <= high:
        found.append(f"{value!r} must be {low} to {high} characters long (it has {len(value)})")
    if not NAME_PATTERN.match(value):
        found.append(
            f"{value!r} must start with a letter, contain only letters, digits and dashes, "
            "and end with a letter or digit"
        )
    return found
