"""Every rule the project's specs and samples must follow, reported as `file: field: what is wrong`.

`validate_project` checks a whole project and reports all problems, not only the first:

- each spec loads with azure-ai-ml's offline loaders (their errors become problems);
- the rules those loaders do not check offline: endpoint and deployment names, each deployment's
  `endpoint_name`, the endpoint's `traffic` and `mirror_traffic`, the slots' model references;
- the release plan: the model pin, slots (exactly the deployment files), stages, analysis limits;
- `samples/*.json` against `samples/sample.schema.json`;
- schema drift: when the pinned model version is in the registry, the schema derived from its
  signature against the committed one (when it is not, a note, not a problem).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rollout import specs

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

WHOLE_FILE = "(file)"
DOCUMENT_ROOT = "(root)"
NAME_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$")
NAME_LENGTH = (3, 32)
MODEL_REFERENCE = re.compile(r"^azureml:(?P<name>[^:/@]+):(?P<version>[^:/@]+)$")
MAX_MIRROR_PERCENT = 50
SLOT_COUNT = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong: the file (relative to the project root), the field, and what is wrong."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


@dataclass
class PlanCheck:
    """A release plan's problems and, when it has none, the plan; `raw` is its YAML content."""

    problems: list[Problem]
    plan: specs.ReleasePlan | None
    raw: dict[str, Any] | None


@dataclass
class ProjectValidation:
    """What `validate_project` found and loaded."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: specs.ReleasePlan | None = None
    endpoint: ManagedOnlineEndpoint | None = None
    deployments: dict[str, ManagedOnlineDeployment] = field(default_factory=dict)


def display(path: Path, root: Path) -> str:
    """`path` as shown in problems: relative to the project root, with forward slashes."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def field_path(parts: Any) -> str:
    """A location as `a.b[0].c`; the document root as `(root)`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or DOCUMENT_ROOT


def merge(primary: list[Problem], secondary: list[Problem]) -> list[Problem]:
    """`primary`, then those of `secondary` about a field (or part of one) `primary` does not cover."""

    def covers(outer: str, inner: str) -> bool:
        return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))

    merged = list(primary)
    for problem in secondary:
        if not any(p.file == problem.file and covers(p.field, problem.field) for p in primary):
            merged.append(problem)
    return merged


# --- YAML and names --------------------------------------------------------------------------


def read_yaml_mapping(path: Path, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The YAML mapping in `path`, or the problems that prevent reading one."""
    if not path.is_file():
        return None, [Problem(file, WHOLE_FILE, "not found")]
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(error, "problem", None) or str(error)
        return None, [Problem(file, WHOLE_FILE, f"not valid YAML: {reason}{where}")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(file, WHOLE_FILE, f"cannot be read: {error}")]
    if not isinstance(content, dict):
        kind = "empty" if content is None else f"a {type(content).__name__}, not a mapping"
        return None, [Problem(file, WHOLE_FILE, f"must be a YAML mapping of fields (it is {kind})")]
    return content, []


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- azure-ai-ml loaders ---------------------------------------------------------------------


def sdk_problems(error: Exception, file: str) -> list[Problem]:
    """An azure-ai-ml loader's exception as problems, one per field message."""
    from marshmallow import ValidationError

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ValidationError) and isinstance(cause.messages, dict):
            return list(_flatten_messages(cause.messages, file, []))
        cause = cause.__cause__ or cause.__context__
    message = getattr(error, "message", None) or str(error)
    return [Problem(file, WHOLE_FILE, " ".join(message.split()))]


def _flatten_messages(messages: Any, file: str, path: list[Any]):
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _flatten_messages(inner, file, path if key == "_schema" else [*path, key])
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from _flatten_messages(item, file, path)
    else:
        yield Problem(file, field_path(path), str(messages))


def _load_with_sdk(loader: Callable[[Path], Any], path: Path, file: str) -> tuple[Any, list[Problem]]:
    try:
        return loader(path), []
    except Exception as error:  # the loaders raise marshmallow, azure and plain errors alike
        return None, sdk_problems(error, file)


# --- the release plan ------------------------------------------------------------------------


def check_release_plan(path: Path, root: Path) -> PlanCheck:
    """Validate a release plan file on its own: fields, model pin, stages, analysis limits."""
    from pydantic import ValidationError

    file = display(path, root)
    raw, problems = read_yaml_mapping(path, file)
    if raw is None:
        return PlanCheck(problems, None, None)
    plan = None
    field_problems: list[Problem] = []
    try:
        plan = specs.ReleasePlan.model_validate(raw, context={"base": path.parent})
    except ValidationError as error:
        field_problems = [_pydantic_problem(file, detail) for detail in error.errors()]
    problems = merge(field_problems, _stage_order_problems(file, raw.get("stages")))
    return PlanCheck(problems, None if problems else plan, raw)


def _pydantic_problem(file: str, detail: Any) -> Problem:
    kind = detail["type"]
    if kind == "value_error":
        message = str(detail["ctx"]["error"])
    elif kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a field of the release plan"
    else:
        message = f"{detail['msg']} (got {detail['input']!r})"
    return Problem(file, field_path(detail["loc"]), message)


def _stage_order_problems(file: str, stages: Any) -> list[Problem]:
    if not isinstance(stages, list):
        return []
    found = []
    names: dict[str, int] = {}
    previous: int | None = None
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        name, traffic = stage.get("name"), stage.get("traffic")
        if isinstance(name, str):
            if name in names:
                found.append(
                    Problem(
                        file, f"stages[{index}].name", f"{name!r} is also the name of stages[{names[name]}]"
                    )
                )
            else:
                names[name] = index
        if _is_int(traffic):
            if previous is not None and traffic <= previous:
                found.append(
                    Problem(
                        file,
                        f"stages[{index}].traffic",
                        f"must be greater than the previous stage's {previous} (got {traffic})",
                    )
                )
            previous = traffic
    if stages and isinstance(stages[-1], dict):
        last = stages[-1].get("traffic")
        if _is_int(last) and last != 100:
            found.append(
                Problem(
                    file,
                    f"stages[{len(stages) - 1}].traffic",
                    f"the last stage must send 100 percent to the candidate (got {last})",
                )
            )
    return found


# --- the whole project -----------------------------------------------------------------------


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
    plan_path = root / specs.PLAN_FILE
    checked = check_release_plan(plan_path, root)
    result.problems += checked.problems
    raw_plan = checked.raw or {}

    endpoint_path = _plan_path(raw_plan.get("endpoint"), plan_path)
    slot_paths = _slot_paths(raw_plan.get("slots"), plan_path)
    result.problems += _slot_file_problems(raw_plan, endpoint_path, slot_paths, plan_path, root)

    endpoint_raw = _check_endpoint(result, endpoint_path, root, list(slot_paths))
    _check_deployments(result, slot_paths, raw_plan, endpoint_raw, endpoint_path, root)

    committed_schema = None
    if check_samples or check_drift:
        committed_schema, problems = _load_schema(root)
        result.problems += problems
    if check_samples and committed_schema is not None:
        result.problems += _sample_problems(root, committed_schema)
    if check_drift and committed_schema is not None and checked.plan is not None:
        from rollout import paths

        problems, notes = _drift_problems(
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
        ours = _endpoint_problems(raw, file, deployments)
        result.endpoint, sdk = _load_with_sdk(load_online_endpoint, endpoint_path, file)
        result.problems += merge(ours, sdk)
    return raw


def _check_deployments(
    result: ProjectValidation,
    slot_paths: dict[str, Path],
    raw_plan: dict[str, Any],
    endpoint_raw: dict[str, Any] | None,
    endpoint_path: Path | None,
    root: Path,
) -> None:
    """Check and load each slot's deployment spec (a file named by two slots only once)."""
    from azure.ai.ml import load_online_deployment

    plan_file = display(root / specs.PLAN_FILE, root)
    pin = raw_plan.get("model")
    pin_name = pin.get("name") if isinstance(pin, dict) else None
    endpoint_name = endpoint_raw.get("name") if endpoint_raw else None
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
        ours = _deployment_problems(raw, file, slot, plan_file, endpoint_name, endpoint_path, root, pin_name)
        deployment, sdk = _load_with_sdk(load_online_deployment, path, file)
        result.problems += merge(ours, sdk)
        if deployment is not None:
            result.deployments[slot] = deployment


def _plan_path(value: Any, plan_path: Path) -> Path | None:
    return (plan_path.parent / value).resolve() if isinstance(value, str) and value else None


def _slot_paths(value: Any, plan_path: Path) -> dict[str, Path]:
    if not isinstance(value, dict):
        return {}
    return {
        str(slot): path for slot, file in value.items() if (path := _plan_path(file, plan_path)) is not None
    }


def _slot_file_problems(
    raw_plan: dict[str, Any],
    endpoint_path: Path | None,
    slot_paths: dict[str, Path],
    plan_path: Path,
    root: Path,
) -> list[Problem]:
    plan_file = display(plan_path, root)
    found = []
    if endpoint_path is not None and not endpoint_path.is_file():
        found.append(Problem(plan_file, "endpoint", f"{raw_plan['endpoint']} does not exist"))
    slots = raw_plan.get("slots")
    if not isinstance(slots, dict):
        return found
    if len(slots) != SLOT_COUNT:
        listed = ", ".join(map(str, slots)) or "none"
        found.append(
            Problem(
                plan_file, "slots", f"a release needs exactly {SLOT_COUNT} slots (got {len(slots)}: {listed})"
            )
        )
    seen: dict[Path, str] = {}
    for slot, path in slot_paths.items():
        if not path.is_file():
            found.append(Problem(plan_file, f"slots.{slot}", f"{slots[slot]} does not exist"))
        elif path in seen:
            found.append(Problem(plan_file, f"slots.{slot}", f"{slots[slot]} is also slot {seen[path]!r}"))
        seen.setdefault(path, slot)
    directory = plan_path.parent
    deployment_files = sorted(
        path.resolve() for pattern in ("*.yml", "*.yaml") for path in directory.glob(pattern)
    )
    for path in deployment_files:
        if path != plan_path.resolve() and path not in seen:
            found.append(
                Problem(
                    plan_file, "slots", f"{display(path, root)} is a deployment spec but not one of the slots"
                )
            )
    return found


def _endpoint_problems(raw: dict[str, Any], file: str, deployments: list[str]) -> list[Problem]:
    found = (
        [Problem(file, "name", message) for message in name_problems(raw.get("name"))]
        if "name" in raw
        else []
    )
    known = ", ".join(deployments) or "none"
    live: dict[str, int] = {}
    if "traffic" in raw:
        traffic = raw["traffic"]
        if not isinstance(traffic, dict):
            found.append(Problem(file, "traffic", "must be a mapping of deployment name to percent"))
        else:
            found += _percent_problems(file, "traffic", traffic, deployments, known)
            if all(_is_int(percent) for percent in traffic.values()):
                total = sum(traffic.values())
                if total not in (0, 100):
                    found.append(
                        Problem(file, "traffic", f"percentages must sum to 0 or 100 (they sum to {total})")
                    )
                live = {name: percent for name, percent in traffic.items() if percent > 0}
    if "mirror_traffic" in raw:
        mirror = raw["mirror_traffic"]
        if not isinstance(mirror, dict):
            found.append(Problem(file, "mirror_traffic", "must be a mapping of deployment name to percent"))
        else:
            if len(mirror) > 1:
                found.append(
                    Problem(
                        file,
                        "mirror_traffic",
                        f"at most one deployment may receive mirrored traffic (got {len(mirror)}: "
                        f"{', '.join(map(str, mirror))})",
                    )
                )
            found += _percent_problems(file, "mirror_traffic", mirror, deployments, known)
            for name, percent in mirror.items():
                where = f"mirror_traffic.{name}"
                if _is_int(percent) and percent > MAX_MIRROR_PERCENT and percent <= 100:
                    found.append(
                        Problem(
                            file,
                            where,
                            f"at most {MAX_MIRROR_PERCENT} percent can be mirrored (got {percent})",
                        )
                    )
                if name in live and _is_int(percent) and percent > 0:
                    found.append(
                        Problem(
                            file,
                            where,
                            f"{name!r} takes live traffic ({live[name]}%), so it cannot also receive "
                            "mirrored traffic",
                        )
                    )
    return found


def _percent_problems(
    file: str, key: str, shares: dict[Any, Any], deployments: list[str], known: str
) -> list[Problem]:
    found = []
    for name, percent in shares.items():
        where = f"{key}.{name}"
        if name not in deployments:
            found.append(
                Problem(file, where, f"{name!r} is not a deployment of this endpoint (its slots: {known})")
            )
        if not _is_int(percent) or not 0 <= percent <= 100:
            found.append(Problem(file, where, f"must be a whole percent from 0 to 100 (got {percent!r})"))
    return found


def _deployment_problems(
    raw: dict[str, Any],
    file: str,
    slot: str,
    plan_file: str,
    endpoint_name: Any,
    endpoint_path: Path | None,
    root: Path,
    pin_name: Any,
) -> list[Problem]:
    found = []
    name = raw.get("name")
    if "name" in raw:
        found += [Problem(file, "name", message) for message in name_problems(name)]
        if isinstance(name, str) and name.lower() != slot:
            found.append(
                Problem(file, "name", f"{name!r} must equal its slot's name {slot!r} in {plan_file}")
            )
    given = raw.get("endpoint_name")
    if isinstance(endpoint_name, str) and given is not None and given != endpoint_name:
        found.append(
            Problem(
                file,
                "endpoint_name",
                f"{given!r} does not match the name of the endpoint in {display(endpoint_path, root)}, "
                f"{endpoint_name!r}",
            )
        )
    if "model" in raw:
        model = raw["model"]
        match = MODEL_REFERENCE.match(model) if isinstance(model, str) else None
        if match is None:
            found.append(
                Problem(
                    file,
                    "model",
                    f"must reference a registered model as azureml:<name>:<version> (got {model!r})",
                )
            )
        elif isinstance(pin_name, str) and match["name"] != pin_name:
            found.append(
                Problem(
                    file,
                    "model",
                    f"model {match['name']!r} is not the model {plan_file} pins, {pin_name!r}",
                )
            )
    return found


# --- samples and their schema ----------------------------------------------------------------


def _load_schema(root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    path = root / specs.SCHEMA_FILE
    file = display(path, root)
    if not path.is_file():
        return None, [
            Problem(
                file,
                WHOLE_FILE,
                "not found: generate it with rollout schema --model models:/<name>/<version>",
            )
        ]
    schema, problems = _read_json(path, file)
    if schema is None:
        return None, problems
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return None, [
            Problem(file, field_path(error.absolute_path), f"not a valid JSON Schema: {error.message}")
        ]
    return schema, []


def _read_json(path: Path, file: str) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except json.JSONDecodeError as error:
        return None, [
            Problem(
                file, WHOLE_FILE, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            )
        ]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(file, WHOLE_FILE, f"cannot be read: {error}")]


def sample_files(root: Path) -> list[Path]:
    """The sample requests: `samples/*.json` but the schema files."""
    return sorted(
        path for path in (root / specs.SAMPLES_DIR).glob("*.json") if not path.name.endswith(".schema.json")
    )


def request_problems(body: Any, schema: dict[str, Any], file: str) -> list[Problem]:
    """A request body's problems against a request schema, in document order."""
    from jsonschema import Draft202012Validator

    def document_order(error: Any) -> list[tuple[int, str]]:
        return [(part, "") if isinstance(part, int) else (-1, str(part)) for part in error.absolute_path]

    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=document_order)
    return [Problem(file, field_path(error.absolute_path), _error_message(error)) for error in errors]


def _error_message(error: Any) -> str:
    """jsonschema's message, but for a list of columns: what is missing, extra or out of order."""
    expected, given = error.validator_value, error.instance
    if error.validator != "const" or not isinstance(expected, list) or not isinstance(given, list):
        return error.message
    missing = [repr(name) for name in expected if name not in given]
    extra = [repr(name) for name in given if name not in expected]
    differences = [f"lacks {', '.join(missing)}"] if missing else []
    differences += [f"has unexpected {', '.join(extra)}"] if extra else []
    return f"must be {', '.join(map(str, expected))}, in this order: {'; '.join(differences) or 'the order differs'}"


def _sample_problems(root: Path, schema: dict[str, Any]) -> list[Problem]:
    found = []
    for path in sample_files(root):
        file = display(path, root)
        body, problems = _read_json(path, file)
        found += problems or request_problems(body, schema, file)
    return found


def _drift_problems(
    root: Path, committed: dict[str, Any], plan: specs.ReleasePlan, registry_uri: str
) -> tuple[list[Problem], list[str]]:
    from rollout import registry, schema

    name, version = plan.model.name, plan.model.version
    found = registry.find_version(registry_uri, name, version)
    if found is None:
        return [], [
            f"model {name} version {version} is not in the registry at {registry_uri}; schema drift not checked"
        ]
    from mlflow.exceptions import MlflowException

    from rollout.errors import UserError

    file = display(root / specs.SCHEMA_FILE, root)
    try:
        derived = schema.model_schema(registry.load_mlmodel(registry_uri, found))
    except UserError as error:
        return [
            Problem(
                file, WHOLE_FILE, f"cannot be compared with model {name} version {version}: {error.message}"
            )
        ], []
    except MlflowException as error:
        return [], [
            f"model {name} version {version} could not be read ({error.message}); schema drift not checked"
        ]
    drifted = schema.drift(committed, derived, f"model {name} version {version}")
    return [Problem(file, where, message) for where, message in drifted], []
