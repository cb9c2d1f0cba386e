"""`rollout recording replay`: a recording (`rollout --record DIR ...`) replayed against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rollout.cli.common import Target
from rollout.core.errors import UserError


def register(app: typer.Typer) -> None:
    recording_app = typer.Typer(
        help="Recorded exchanges with a target (rollout --record DIR).", no_args_is_help=True
    )
    recording_app.command("replay")(replay)
    app.add_typer(recording_app, name="recording")


def replay(
    directory: Annotated[Path, typer.Argument(help="The recording's directory (its *.jsonl files).")],
    target: Target = "local",
) -> None:
    """Replay a recording against the emulator in order and print, per exchange, where the
    emulator's answer differs in status, headers or shape; exit 1 on any difference."""
    from rollout.azureml.local_target import LocalTarget
    from rollout.azureml.recording.exchanges import read_recording
    from rollout.azureml.recording.replay import EmulatorSide, Replay
    from rollout.azureml.scoring import tls_verify
    from rollout.azureml.targets import parse_target

    exchanges = read_recording(directory)
    local = parse_target(target)
    if not isinstance(local, LocalTarget):
        raise UserError(f"a recording replays against the local emulator, not target {target}")
    side = EmulatorSide(
        base_url=local.url(),
        token=local.credential().get_token(local.token_scope()).token,
        verify=tls_verify(local.ca_file() or True),
        workspace_path=local.workspace_path(),
    )
    runner = Replay(side)
    differing = 0
    try:
        for result in runner.run(exchanges):
            print(result.line)
            for difference in result.differences:
                print(f"    {difference}")
            differing += bool(result.differences)
    finally:
        runner.close()
    print(f"{len(exchanges)} recorded exchanges, {differing} with differences")
    if differing:
        raise typer.Exit(1)
