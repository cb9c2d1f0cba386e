"""Every rule the project's specs and samples must follow, reported as `file: field: what is wrong`.

`validate_project` checks a whole project and reports all problems, not only the first:

- each spec loads with azure-ai-ml's offline loaders (their errors become problems);
- the rules those loaders do not check offline: endpoint and deployment names, each deployment's
  `endpoint_name`, the endpoint's `traffic` and `mirror_traffic`, the slots' model references, a
  scoring script's folder and file (a slot with one gets a note: the local emulator refuses it);
- the release plan: the model pin, slots (exactly the deployment files), stages, analysis limits;
- `samples/*.json` against `samples/sample.schema.json`;
- schema drift: when the pinned model version is in the registry, the schema derived from its
  signature against the committed one (when it is not, a note, not a problem).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout.project.environment_rules import environment_notes, environment_problems
from rollout.project.layout import PLAN_FILE
from rollout.project.plan_rules import check_release_plan
from rollout.project.problems import Problem, display, merge, read_yaml_mapping
from rollout.project.sample_rules import drift_problems, load_schema, sample_problems
from rollout.project.spec_rules import (
    DeploymentContext,
    deployment_problems,
    endpoint_problems,
    load_with_sdk,
    plan_path_of,
    slot_file_problems,
    slot_paths_of,
)
from rollout.project.specs import ReleasePlan

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint


@dataclass
class ProjectValidation:
    """What `validate_project` found and loaded."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: ReleasePlan | None = None
    endpoint: ManagedOnlineEndpoint | None = None
    deployments: dict[str, ManagedOnlineDeployment] = field(default_factory=dict)


def validate_project(
    root: Path,
    *,
    check_samples: bool = True,
    check_drift: bool = True,
    registry_uri: str | None = None,
) -> ProjectValidation:
    """Check every spec of the project at `root`; with `check_drift`, compare the committed schema
    with the pinned model's (in the registry at `registry_uri`, by default the configured one)."""
    root = Path(root)
    result = ProjectValidation()
    plan_path = root / PLAN_FILE
    checked = check_release_plan(plan_path, root)
    result.problems += checked.problems
    raw_plan = checked.raw or {}

    endpoint_path = plan_path_of(raw_plan.get("endpoint"), plan_path)
    slot_paths = slot_paths_of(raw_plan.get("slots"), plan_path)
    result.problems += slot_file_problems(raw_plan, endpoint_path, slot_paths, plan_path, root)

    endpoint_raw = _check_endpoint(result, endpoint_path, root, list(slot_paths))
    pin = raw_plan.get("model")
    context = DeploymentContext(
        root=root,
        plan_file=display(plan_path, root),
        pin_name=pin.get("name") if isinstance(pin, dict) else None,
        endpoint_name=endpoint_raw.get("name") if endpoint_raw else None,
        endpoint_path=endpoint_path,
    )
    _check_deployments(result, slot_paths, context)

    committed_schema = None
    if check_samples or check_drift:
        committed_schema, problems = load_schema(root)
        result.problems += problems
    if check_samples and committed_schema is not None:
        result.problems += sample_problems(root, committed_schema)
    if check_drift and committed_schema is not None and checked.plan is not None:
        from rollout.core import paths

        problems, notes = drift_problems(
            root, committed_schema, checked.plan, registry_uri or paths.registry_uri()
        )
        result.problems += problems
        result.notes += notes

    if not result.problems:
        result.plan = checked.plan
    return result


def _check_endpoint(
    result: ProjectValidation, endpoint_path: Path | None, root: Path, deployments: list[str]
) -> dict[str, Any] | None:
    """Check and load the endpoint spec; its YAML content, if it could be read."""
    from azure.ai.ml import load_online_endpoint

    if endpoint_path is None or not endpoint_path.is_file():
        return None
    file = display(endpoint_path, root)
    raw, problems = read_yaml_mapping(endpoint_path, file)
    result.problems += problems
    if raw is not None:
        ours = endpoint_problems(raw, file, deployments)
        result.endpoint, sdk = load_with_sdk(load_online_endpoint, endpoint_path, file)
        result.problems += merge(ours, sdk)
    return raw


def _check_deployments(
    result: ProjectValidation, slot_paths: dict[str, Path], context: DeploymentContext
) -> None:
    """Check and load each slot's deployment spec (a file named by two slots only once)."""
    from azure.ai.ml import load_online_deployment

    root = context.root
    loaded: set[Path] = set()
    for slot, path in slot_paths.items():
        if not path.is_file() or path in loaded:
            continue
        loaded.add(path)
        file = display(path, root)
        raw, problems = read_yaml_mapping(path, file)
        result.problems += problems
        if raw is None:
            continue
        ours = deployment_problems(raw, file, slot, context)
        ours += environment_problems(raw.get("environment"), path, file)
        result.notes += [f"{file}: {note}" for note in environment_notes(raw, path)]
        deployment, sdk = load_with_sdk(load_online_deployment, path, file)
        result.problems += merge(ours, sdk)
        if deployment is not None:
            result.deployments[slot] = deployment
