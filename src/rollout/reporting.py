"""Outputs for people and for automation: JSON on stdout, GitHub step outputs and summaries."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from rich.console import Console

console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """Progress and notes, on stderr so that stdout stays machine-readable."""
    console.print(message, markup=False)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def github_output(values: Mapping[str, Any]) -> None:
    """Append `key=value` lines to `$GITHUB_OUTPUT` when running in GitHub Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for key, value in values.items():
            out.write(f"{key}={'' if value is None else value}\n")


def step_summary(markdown: str) -> None:
    """Append markdown to `$GITHUB_STEP_SUMMARY` when running in GitHub Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(markdown.rstrip() + "\n\n")


def traffic_table(title: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> str:
    names = sorted(set(traffic) | set(mirror))
    rows = "\n".join(f"| {n} | {traffic.get(n, 0)}% | {mirror.get(n, 0)}% |" for n in names)
    return f"**{title}**\n\n| deployment | traffic | mirror |\n|---|---|---|\n{rows or '| (none) | | |'}\n"


def numbers_table(numbers: Mapping[str, Any]) -> str:
    rows = "\n".join(f"| {key.replace('_', ' ')} | {value} |" for key, value in numbers.items())
    return f"| measure | value |\n|---|---|\n{rows}\n"
