"""The release plan's rules: its fields, the model pin, the stages' names and order (shadow stages
first, traffic rising to 100), the analysis limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rollout.project.problems import Problem, display, field_path, is_int, merge, read_yaml_mapping
from rollout.project.specs import ReleasePlan


@dataclass
class PlanCheck:
    """A release plan's problems and, when it has none, the plan; `raw` is its YAML content."""

    problems: list[Problem]
    plan: ReleasePlan | None
    raw: dict[str, Any] | None


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
        plan = ReleasePlan.model_validate(raw, context={"base": path.parent})
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
    first_traffic: Any = None  # the name of the first traffic stage
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
        if "mirror" in stage and "traffic" not in stage and previous is not None:
            found.append(
                Problem(
                    file,
                    f"stages[{index}].mirror",
                    "a shadow stage comes before every traffic stage: the candidate takes live traffic "
                    f"from stage {first_traffic!r} on, and Azure never mirrors to a deployment with "
                    "live traffic",
                )
            )
        if isinstance(traffic, int) and is_int(traffic):
            if previous is None:
                first_traffic = name
            elif traffic <= previous:
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
        if "mirror" in stages[-1] and last is None:
            found.append(
                Problem(
                    file,
                    f"stages[{len(stages) - 1}]",
                    "the last stage must send 100 percent to the candidate (a shadow stage moves no traffic)",
                )
            )
        elif is_int(last) and last != 100:
            found.append(
                Problem(
                    file,
                    f"stages[{len(stages) - 1}].traffic",
                    f"the last stage must send 100 percent to the candidate (got {last})",
                )
            )
    return found
