"""Loading a project: the loaders run every rule of `rollout.project.validation` and refuse a
project with problems, so what they return is valid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout.core.errors import UserError
from rollout.project.layout import PLAN_FILE
from rollout.project.plan_rules import check_release_plan
from rollout.project.problems import Problem
from rollout.project.specs import Project, ReleasePlan
from rollout.project.validation import validate_project

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint


def load_release_plan(path: Path) -> ReleasePlan:
    """Read and validate a release plan file; a UserError lists every problem in it."""
    path = Path(path)
    checked = check_release_plan(path, root=path.parent)
    _raise_for(checked.problems, path)
    assert checked.plan is not None
    return checked.plan


def load_project(root: Path = Path(".")) -> Project:
    """Load and validate the plan, the endpoint spec and each slot's deployment spec.

    Samples and schema drift are `rollout validate`'s business, not a release's: a broken sample
    must not block a rollback.
    """
    root = Path(root)
    result = validate_project(root, check_samples=False, check_drift=False)
    _raise_for(result.problems, root / PLAN_FILE)
    assert result.plan is not None and result.endpoint is not None
    return Project(
        root=root.resolve(), plan=result.plan, endpoint=result.endpoint, deployments=result.deployments
    )


def _raise_for(problems: list[Problem], where: Path) -> None:
    if problems:
        listed = "; ".join(str(problem) for problem in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise UserError(f"{where}: {count} in the specs (see rollout validate): {listed}")


def load_endpoint_file(path: Path) -> ManagedOnlineEndpoint:
    """One endpoint spec, loaded with azure-ai-ml's own loader; a bad file is one clear error."""
    from azure.ai.ml import load_online_endpoint

    return _load_spec_file(load_online_endpoint, path)


def load_deployment_file(path: Path) -> ManagedOnlineDeployment:
    """One deployment spec, loaded with azure-ai-ml's own loader; a bad file is one clear error."""
    from azure.ai.ml import load_online_deployment

    return _load_spec_file(load_online_deployment, path)


def _load_spec_file(loader: Callable[..., Any], path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        return loader(source=path)
    except Exception as exc:  # the loaders raise marshmallow, azure and plain errors alike
        raise UserError(f"{path}: {' '.join(str(exc).split())[:300]}") from exc
