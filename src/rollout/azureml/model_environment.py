"""A model's answers as its deployment would give them: predicted in the environment Azure builds
for it, never in rollout's own Python.

The environment is the emulator's build of a no-code MLflow deployment's
(`rollout.emulator.environments`: the model's conda.yaml, python_env.yaml or requirements.txt plus
Azure's additions, built with uv), kept in the same cache as the emulator's deployments
(`.rollout/environments/<key>`, or `$ROLLOUT_ENVIRONMENTS_DIR`), so a later release reuses it.
Its Python runs `environment_scripts/predict_rows.py`, which imports no rollout. A build that
fails, and a model that does not load or predict there, end in one `UserError` line.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rollout.core.errors import UserError
from rollout.emulator.environments import (
    BuildOptions,
    BuiltEnvironment,
    EnvironmentBuildFailed,
    EnvironmentCache,
    EnvironmentProblem,
    for_mlflow_model,
    isolated_environ,
)

PREDICT_SCRIPT = Path(__file__).resolve().parent / "environment_scripts" / "predict_rows.py"
PREDICT_TIMEOUT_S = 600.0  # loading and predicting; a model that takes longer is stuck
_LABEL = re.compile(r"(^|: )(error|cause|caused by): ", re.IGNORECASE)  # uv's line labels (on a pipe)

Say = Callable[[str], None]


def _one_line(message: str) -> str:
    """uv's message (several lines, labelled `error:` and `cause:`) as one line."""
    parts: list[str] = []
    for raw in message.splitlines():
        line = _LABEL.sub(r"\1", raw.strip()).rstrip(": ")
        if line:
            if parts:  # a sentence goes on; a label's line is its cause
                parts.append(" " if parts[-1].endswith((".", ",", ";")) else ": ")
            parts.append(line)
    return "".join(parts)


def build(model_dir: Path, say: Say, cache: EnvironmentCache | None = None) -> BuiltEnvironment:
    """The built environment of the MLflow model in `model_dir` (from the cache, or built now with
    progress lines through `say`); a UserError when it cannot be had."""
    cache = cache or EnvironmentCache()

    def named(text: str) -> str:  # the model's scratch copy means nothing to the user
        return text.replace(f" of {model_dir}", " of the model").replace(str(model_dir), "the model")

    try:
        spec = for_mlflow_model(model_dir)
        built = cache.build(spec, BuildOptions(progress=lambda line: say(named(line))))
    except EnvironmentBuildFailed as error:
        message = _one_line(named(error.message))
        raise UserError(f"the model's environment cannot be built: {message}") from error
    except EnvironmentProblem as error:
        raise UserError(f"the model's environment: {_one_line(named(error.message))}") from error
    for warning in built.warnings:
        say(f"warning: {named(warning)}")
    python = cache.interpreter_for(spec).interpreter.version_text
    say(f"reading the model in its environment {built.key} (Python {python}, {built.path})")
    return built


def answers(model_dir: Path, request: dict[str, Any], say: Say) -> list[Any]:
    """The model's predictions for `request` (`input_data` in split orientation), in MLflow's JSON
    form, predicted in the model's own environment."""
    built = build(model_dir, say)
    with tempfile.TemporaryDirectory(prefix="rollout-predict-") as scratch:
        request_file, answer_file = Path(scratch) / "request.json", Path(scratch) / "answer.json"
        request_file.write_text(json.dumps(request))
        command = [str(built.python), "-I", str(PREDICT_SCRIPT), str(model_dir), str(request_file)]
        try:
            ran = subprocess.run(
                [*command, str(answer_file)],
                cwd=scratch,
                env=isolated_environ(),
                capture_output=True,
                text=True,
                timeout=PREDICT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise UserError(
                f"the model did not answer within {PREDICT_TIMEOUT_S:.0f} s in its environment {built.key}"
            ) from error
        result = _read(answer_file)
        if result is None:
            last = (ran.stderr.strip().splitlines() or [f"exit status {ran.returncode}"])[-1]
            raise UserError(f"the model's environment {built.key} could not run it: {last}")
    if "failure" in result:
        raise UserError(_failure_line(result["failure"], built.key))
    predictions = result.get("predictions")
    return predictions if isinstance(predictions, list) else [predictions]


def _read(answer_file: Path) -> dict[str, Any] | None:
    try:
        result = json.loads(answer_file.read_text())
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _failure_line(failure: dict[str, Any], key: str) -> str:
    what = "does not load" if failure.get("stage") in ("import", "load") else "fails to predict the rows"
    line = f"the model {what} in its environment {key}: {failure.get('error')}: {failure.get('message')}"
    module = failure.get("module")
    if module:
        top = str(module).split(".")[0]
        line += (
            f"; add the package that provides {top} to the model's requirements (its conda.yaml and "
            "requirements.txt, or pip_requirements when logging it) and register it again"
        )
    return line
