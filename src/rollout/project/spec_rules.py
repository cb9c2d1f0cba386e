"""The endpoint's and the slots' `az ml` specs: azure-ai-ml's offline loaders, and the rules they
do not check offline (names, `endpoint_name`, traffic and mirror traffic, model references, slot files,
a scoring script's folder and file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.project.names import MODEL_REFERENCE, name_problems
from rollout.project.problems import WHOLE_FILE, Problem, display, field_path, is_int
from rollout.project.traffic import MAX_MIRROR_PERCENT

SLOT_COUNT = 2


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


def _flatten_messages(messages: Any, file: str, path: list[Any]) -> Iterator[Problem]:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _flatten_messages(inner, file, path if key == "_schema" else [*path, key])
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from _flatten_messages(item, file, path)
    else:
        yield Problem(file, field_path(path), str(messages))


def load_with_sdk(loader: Callable[[Path], Any], path: Path, file: str) -> tuple[Any, list[Problem]]:
    try:
        return loader(path), []
    except Exception as error:  # the loaders raise marshmallow, azure and plain errors alike
        return None, sdk_problems(error, file)


def plan_path_of(value: Any, plan_path: Path) -> Path | None:
    return (plan_path.parent / value).resolve() if isinstance(value, str) and value else None


def slot_paths_of(value: Any, plan_path: Path) -> dict[str, Path]:
    if not isinstance(value, dict):
        return {}
    return {
        str(slot): path for slot, file in value.items() if (path := plan_path_of(file, plan_path)) is not None
    }


def slot_file_problems(
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


def endpoint_problems(raw: dict[str, Any], file: str, deployments: list[str]) -> list[Problem]:
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
            if all(is_int(percent) for percent in traffic.values()):
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
                if is_int(percent) and percent > MAX_MIRROR_PERCENT and percent <= 100:
                    found.append(
                        Problem(
                            file,
                            where,
                            f"at most {MAX_MIRROR_PERCENT} percent can be mirrored (got {percent})",
                        )
                    )
                if name in live and is_int(percent) and percent > 0:
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
        if not is_int(percent) or not 0 <= percent <= 100:
            found.append(Problem(file, where, f"must be a whole percent from 0 to 100 (got {percent!r})"))
    return found


@dataclass(frozen=True)
class DeploymentContext:
    """What a slot's deployment spec is checked against: the plan and the endpoint spec."""

    root: Path
    plan_file: str  # the plan, as the problems name it
    pin_name: Any  # the model the plan pins (anything: the plan may be broken)
    endpoint_name: Any  # the endpoint spec's name
    endpoint_path: Path | None


def deployment_problems(
    raw: dict[str, Any], file: str, slot: str, context: DeploymentContext
) -> list[Problem]:
    """The problems of the deployment spec `file` of `slot`, alone and against the plan and endpoint."""
    plan_file, endpoint_name, endpoint_path = context.plan_file, context.endpoint_name, context.endpoint_path
    found = []
    name = raw.get("name")
    if "name" in raw:
        found += [Problem(file, "name", message) for message in name_problems(name)]
        if isinstance(name, str) and name.lower() != slot:
            found.append(
                Problem(file, "name", f"{name!r} must equal its slot's name {slot!r} in {plan_file}")
            )
    given = raw.get("endpoint_name")
    if (
        isinstance(endpoint_name, str)
        and endpoint_path is not None
        and given is not None
        and given != endpoint_name
    ):
        found.append(
            Problem(
                file,
                "endpoint_name",
                f"{given!r} does not match the name of the endpoint in"
                f" {display(endpoint_path, context.root)}, "
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
        elif isinstance(context.pin_name, str) and match["name"] != context.pin_name:
            found.append(
                Problem(
                    file,
                    "model",
                    f"model {match['name']!r} is not the model {plan_file} pins, {context.pin_name!r}",
                )
            )
    return found + code_problems(raw.get("code_configuration"), context.root / file, file)


def code_problems(value: Any, spec_path: Path, file: str) -> list[Problem]:
    """A `code_configuration`'s local folder and scoring script exist (azure-ai-ml looks only when it
    deploys); a registered code asset (`azureml:`) or a URL is not checked offline."""
    if not isinstance(value, dict):
        return []  # the loader reports a wrong shape
    code, script = value.get("code"), value.get("scoring_script")
    if not isinstance(code, str) or code.startswith("azureml:") or "://" in code:
        return []
    folder = (spec_path.parent / code).resolve()
    if not folder.is_dir():
        return [Problem(file, "code_configuration.code", f"{code} is not a folder (relative to the spec)")]
    if isinstance(script, str) and not (folder / script).is_file():
        return [Problem(file, "code_configuration.scoring_script", f"{script} is not a file in {code}")]
    return []
