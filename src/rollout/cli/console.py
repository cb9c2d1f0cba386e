"""Outputs for people and for automation: progress on stderr, results and JSON on stdout, GitHub step
outputs and summaries."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from rollout.release.results import Status

stderr = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """Progress and notes, on stderr so that stdout stays machine-readable."""
    stderr.print(message, markup=False)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def github_output(values: Mapping[str, Any]) -> None:
    """Append step outputs to `$GITHUB_OUTPUT` when running in GitHub Actions, each in GitHub's
    delimiter form (`key<<DELIMITER`, the value's lines, `DELIMITER`) with a random delimiter that
    is not a line of the value: a value with newlines (a name read from YAML) cannot set other
    outputs."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for key, value in values.items():
            out.write(_delimited(key, "" if value is None else str(value)))


def _delimited(key: str, value: str) -> str:
    if not key or "\n" in key or "\r" in key or "<<" in key or "=" in key:
        raise ValueError(f"not a GitHub output name: {key!r}")
    lines = value.splitlines()
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if delimiter not in lines:
            return f"{key}<<{delimiter}\n{value}\n{delimiter}\n"


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


def show_split(endpoint: str, what: str, split: dict[str, int], as_json: bool) -> None:
    """The endpoint's traffic or mirror traffic after a change, as a line or as JSON."""
    if as_json:
        print_json({"endpoint": endpoint, what: split})
    else:
        shown = " ".join(f"{k}={v}" for k, v in split.items()) or (
            "off" if what == "mirror_traffic" else "none"
        )
        print(f"{what.replace('_', ' ')} of {endpoint}: {shown}")


def print_status(info: Status) -> None:
    """The endpoint's deployments as a table, its scoring URI, and the release in progress."""
    from rich.table import Table

    table = Table(title=f"{info.endpoint} ({info.state})", title_justify="left")
    for column in ("deployment", "model", "state", "traffic", "mirror", "role"):
        table.add_column(column)
    for d in info.deployments:
        table.add_row(d.name, d.model or "", d.state or "", f"{d.traffic}%", f"{d.mirror}%", d.role)
    out = Console(highlight=False)
    out.print(table)
    out.print(f"scoring uri: {info.scoring_uri}", markup=False)
    if info.candidate:
        out.print(
            f"release {info.release}: candidate {info.candidate}, live before {info.live or 'none'}, "
            f"last stage passed {info.stage or 'none'}",
            markup=False,
        )
    if info.packages is not None:
        out.print(info.packages.summary(), markup=False)
    if info.verdict:
        out.print(f"last verdict: {info.verdict}", markup=False)
