"""What a deployment's environment is, resolved from the files Azure builds it from.

- A no-code MLflow deployment (an MLflow model, no scoring script): Azure reads the model's conda
  dependencies. So the model's conda file (`conda.yaml`, as its MLmodel names it) gives the Python
  version and the pip list; without one, `python_env.yaml` and its requirements; without that,
  `requirements.txt` and the Python the MLmodel was logged with. When the conda file and
  `requirements.txt` (or `python_env.yaml`) disagree, a warning says how, and the conda file wins.
  Azure's MLflow image adds its inference server and `mlflow-skinny`: `azureml-inference-server-http`
  pinned to the version the emulator follows, and `mlflow-skinny` at the model's own `mlflow`
  requirement's version (`mlflow==3.17.2` gives `mlflow-skinny==3.17.2`; `mlflow<4` gives
  `mlflow-skinny<4`), else at the MLmodel's `mlflow_version`, else unpinned. A model that names
  either package itself keeps its own requirement.
- A deployment's `environment:` with a `conda_file`: that file's Python and pip packages, nothing
  added (Azure adds no inference server to a custom environment). An `image`'s own packages are
  not emulated: a warning says so. An image alone, or a registered environment
  (`azureml:NAME:VERSION`), is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from rollout.emulator.environments import conda, requirements
from rollout.emulator.environments.failures import (
    EnvironmentKind,
    EnvironmentNotEmulated,
    EnvironmentSpecInvalid,
)

INFERENCE_SERVER = "azureml-inference-server-http"
INFERENCE_SERVER_VERSION = "1.5.1"  # what the emulator's instances run (DESIGN.md)
MLFLOW_SKINNY = "mlflow-skinny"


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment to build: the Python wanted and the pip requirement lines, where they came
    from, and what the emulator could not honour as Azure would (`warnings`)."""

    kind: EnvironmentKind
    requirements: tuple[str, ...]
    python: str | None = None  # `3.11.7` or `3.11`; None: the Python rollout runs on
    source: str = ""  # the files read, for messages
    warnings: tuple[str, ...] = ()
    from_conda: tuple[str, ...] = field(default=())  # conda packages installed from PyPI instead


def for_mlflow_model(model_dir: Path) -> EnvironmentSpec:
    """The environment Azure gives a no-code deployment of the MLflow model in `model_dir`."""
    mlmodel = _mlmodel(model_dir)
    conda_file, python_env, requirements_txt = _environment_files(model_dir, mlmodel)
    warnings: list[str] = []
    from_conda: list[str] = []
    if conda_file.is_file():
        parsed = conda.parse(conda.load(conda_file), source=_named(conda_file), base_dir=model_dir)
        python, lines, from_conda = parsed.python, parsed.pip, parsed.from_conda
        warnings += parsed.warnings
        warnings += _disagreements(parsed, python_env, requirements_txt)
        source = _named(conda_file)
    elif python_env.is_file():
        python, lines = _python_env(python_env)
        source = _named(python_env)
    elif requirements_txt.is_file():
        python, lines = None, requirements.read_file(requirements_txt)
        source = _named(requirements_txt)
    else:
        raise EnvironmentSpecInvalid(
            f"{model_dir}: the model has no conda.yaml, python_env.yaml or requirements.txt to build from"
        )
    python = python or _logged_python(mlmodel)
    lines = lines + _azure_additions(lines, mlmodel)
    return EnvironmentSpec(
        kind=EnvironmentKind.MLFLOW_MODEL,
        requirements=tuple(lines),
        python=python,
        source=source,
        warnings=tuple(warnings),
        from_conda=tuple(from_conda),
    )


def for_custom_environment(
    conda_file: Path | Mapping[str, Any] | None, image: str | None = None
) -> EnvironmentSpec:
    """The environment of a deployment's `environment:` (a conda file's path or content, and the
    image it names): the conda file's packages and nothing added."""
    if conda_file is None:
        raise EnvironmentNotEmulated(
            f"environment from image {image or '(none)'} without a conda file: its packages are the "
            "image's, which the emulator cannot build; give the environment a conda_file"
        )
    if isinstance(conda_file, Path):
        content, source, base_dir = conda.load(conda_file), _named(conda_file), conda_file.parent
    else:
        content, source, base_dir = conda_file, "the environment's conda file", None
    parsed = conda.parse(content, source=source, base_dir=base_dir)
    warnings = list(parsed.warnings)
    if image:
        warnings.append(
            f"image {image}: its OS packages and Python are not emulated; the environment is "
            "built from the conda file's pip packages on a local Python"
        )
    return EnvironmentSpec(
        kind=EnvironmentKind.CUSTOM,
        requirements=tuple(parsed.pip),
        python=parsed.python,
        source=source,
        warnings=tuple(warnings),
        from_conda=tuple(parsed.from_conda),
    )


def refuse_registered(reference: str) -> NoReturn:
    """A registered environment (`azureml:NAME:VERSION` or its ARM id): refused, in one line."""
    raise EnvironmentNotEmulated(
        f"environment {reference}: registered environments are not emulated yet; "
        "give the deployment an inline environment (a conda_file, with or without an image)"
    )


def _named(path: Path) -> str:
    return f"{path.name} of {path.parent}"


def _mlmodel(model_dir: Path) -> Mapping[str, Any]:
    path = model_dir / "MLmodel"
    try:
        content = yaml.safe_load(path.read_text())
    except FileNotFoundError as error:
        raise EnvironmentSpecInvalid(f"{model_dir}: not an MLflow model (no MLmodel file)") from error
    except (OSError, yaml.YAMLError) as error:
        raise EnvironmentSpecInvalid(f"{path}: unreadable ({error})") from error
    return content if isinstance(content, Mapping) else {}


def _environment_files(model_dir: Path, mlmodel: Mapping[str, Any]) -> tuple[Path, Path, Path]:
    """The model's conda file, python_env.yaml and requirements.txt (as its MLmodel names them)."""
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    env = pyfunc.get("env") if isinstance(pyfunc, Mapping) else None
    if isinstance(env, str):  # MLflow 1.x: `env: conda.yaml`
        env = {"conda": env}
    env = env if isinstance(env, Mapping) else {}
    return (
        model_dir / str(env.get("conda") or "conda.yaml"),
        model_dir / str(env.get("virtualenv") or "python_env.yaml"),
        model_dir / "requirements.txt",
    )


def _python_env(path: Path) -> tuple[str | None, list[str]]:
    """MLflow's python_env.yaml: `python: X.Y.Z` and `dependencies` (often `-r requirements.txt`)."""
    content = conda.load(path)
    dependencies = content.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise EnvironmentSpecInvalid(f"{_named(path)}: `dependencies` is not a list")
    python = content.get("python")
    return (str(python) if python else None), requirements.expand(map(str, dependencies), path.parent)


def _logged_python(mlmodel: Mapping[str, Any]) -> str | None:
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    version = pyfunc.get("python_version") if isinstance(pyfunc, Mapping) else None
    return str(version) if version else None


def _disagreements(parsed: conda.CondaEnvironment, python_env: Path, requirements_txt: Path) -> list[str]:
    """Where the model's python_env.yaml or requirements.txt say otherwise than its conda file."""
    warnings: list[str] = []
    if requirements_txt.is_file():
        theirs = requirements.read_file(requirements_txt)
        only_conda, only_txt = requirements.differences(parsed.pip, theirs)
        if only_conda or only_txt:
            warnings.append(
                f"the model's conda.yaml and requirements.txt disagree (conda.yaml only: "
                f"{', '.join(only_conda) or 'nothing'};"
                f" requirements.txt only: {', '.join(only_txt) or 'nothing'}); "
                "built from conda.yaml, as Azure reads the conda dependencies"
            )
    if python_env.is_file() and parsed.python:
        logged = conda.load(python_env).get("python")
        if logged and str(logged) != parsed.python:
            warnings.append(
                f"the model's conda.yaml asks for Python {parsed.python}, its python_env.yaml for "
                f"{logged}; conda.yaml wins, as on Azure"
            )
    return warnings


def _azure_additions(lines: list[str], mlmodel: Mapping[str, Any]) -> list[str]:
    """What Azure's MLflow image holds besides the model's packages, unless the model names them."""
    names = {requirements.name_of(line): line for line in lines}
    added = []
    if INFERENCE_SERVER not in names:
        added.append(f"{INFERENCE_SERVER}=={INFERENCE_SERVER_VERSION}")
    if MLFLOW_SKINNY not in names:
        if "mlflow" in names:
            added.append(MLFLOW_SKINNY + requirements.specifier_of(names["mlflow"]))
        elif mlmodel.get("mlflow_version"):
            added.append(f"{MLFLOW_SKINNY}=={mlmodel['mlflow_version']}")
        else:
            added.append(MLFLOW_SKINNY)
    return added
