"""The CLI reference page (docs/cli.md) is generated while the site builds, by the MkDocs hook
`scripts/cli_reference.py`: every command of the typer application gets its `--help` there."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
HOOK = ROOT / "scripts" / "cli_reference.py"


def _hook():
    spec = importlib.util.spec_from_file_location("cli_reference", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_holds_the_marker_and_the_site_runs_the_hook() -> None:
    hook = _hook()
    assert hook.MARKER in (ROOT / "docs" / "cli.md").read_text()
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)  # tags left as text
    assert "scripts/cli_reference.py" in config["hooks"]


def test_every_command_gets_its_help() -> None:
    import typer.main

    from rollout.cli import app

    hook = _hook()
    page = hook.on_page_markdown(f"# CLI reference\n\n{hook.MARKER}\n")
    assert hook.MARKER not in page
    root = typer.main.get_command(app)
    groups = root.commands  # type: ignore[attr-defined]
    paths = ["rollout"] + [f"rollout {name}" for name in groups]
    paths += [
        f"rollout {group} {name}"
        for group, command in groups.items()
        for name in getattr(command, "commands", {})
    ]
    assert {"rollout release", "rollout emulator start", "rollout github configure"} <= set(paths)
    for path in paths:
        assert f"`{path}`\n\n```text\nUsage: {path} " in page, path
    # the options and their help, as `--help` prints them
    assert "--probe-rps" in page and "local (the emulator, default) or azure." in page
    assert hook.on_page_markdown("no marker here") == "no marker here"
