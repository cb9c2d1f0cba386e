"""The `rollout` command line: one small module per command group.

Each module exposes `register(app)`. Heavy libraries (azure-ai-ml, mlflow, pandas) are imported
inside the commands that need them, so `rollout --help` stays fast.
"""

from __future__ import annotations

import typer

from rollout.cli import deployment, emulator, endpoint, model, release, traffic, validate, workflow

app = typer.Typer(
    name="rollout",
    help="Gated blue/green releases of MLflow models to Azure ML managed online endpoints.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Gated blue/green releases of MLflow models to Azure ML managed online endpoints."""


for _module in (validate, model, emulator, endpoint, deployment, release, traffic, workflow):
    _module.register(app)


def main() -> None:
    app()
