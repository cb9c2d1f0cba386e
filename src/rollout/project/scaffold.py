"""`rollout init`'s project files for a registered model: the endpoint and slot specs (`az ml` v2),
the release plan, and the samples (request, schema, probe set). The workflows and the GitHub
environments are rendered by `rollout.github`; the command puts them together.

Nothing is written here until every file is known and none would be overwritten unasked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rollout.core.errors import UserError
from rollout.project.answer_drift import (
    MAX_MEAN_SHIFT,
    MAX_SPREAD_RATIO,
    STUDY_LEGITIMATE_MEAN_SHIFT,
    STUDY_LEGITIMATE_SPREAD_RATIOS,
)
from rollout.project.layout import PLAN_FILE, SAMPLES_DIR, SCHEMA_FILE
from rollout.project.names import name_problems
from rollout.project.output_contract import OutputContract
from rollout.project.scaffold_model import ModelFacts

DEFAULT_INSTANCE_TYPE = "Standard_DS3_v2"
# the base image of Azure's curated inference environments; the conda file's packages go on top
SCORING_IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest"
SLOTS = ("blue", "green")


@dataclass(frozen=True)
class StageDefault:
    name: str
    traffic: int
    bake: str
    environment: str


STAGES = (
    StageDefault("canary", 10, "5m", "canary"),
    StageDefault("half", 50, "10m", "production-half"),
    StageDefault("full", 100, "5m", "production"),
)


@dataclass
class Scaffold:
    """The files of a new project, by path relative to its root."""

    endpoint: str
    facts: ModelFacts
    files: dict[Path, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoringCode:
    """The slots' scoring script and its environment, relative to the project's root: the script's
    folder is uploaded as the deployment's code, the conda file builds its environment."""

    code: Path
    script: str
    conda_file: Path


def scoring_code(root: Path, script: Path | None, conda_file: Path | None) -> ScoringCode | None:
    """`--scoring-script` and `--conda-file`, checked: both or neither, files inside the project."""
    if script is None and conda_file is None:
        return None
    if script is None:
        raise UserError(
            "--conda-file is a scoring script's environment: pass --scoring-script too (a deployment "
            "without a script installs the model's own dependencies)"
        )
    if conda_file is None:
        raise UserError(
            "--scoring-script needs --conda-file: Azure runs a scoring script in the environment the "
            "deployment names (its pip list with azureml-inference-server-http)"
        )
    relative = _inside(root, script, "--scoring-script")
    if relative.parent == Path():
        raise UserError(
            f"--scoring-script {script}: put it in a folder of its own (the folder is uploaded as the "
            "deployment's code, and the project's root would upload everything)"
        )
    return ScoringCode(relative.parent, relative.name, _inside(root, conda_file, "--conda-file"))


def _inside(root: Path, path: Path, option: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_file():
        raise UserError(f"{option} {path} is not a file")
    try:
        return resolved.relative_to(root.resolve())
    except ValueError:
        raise UserError(
            f"{option} {path} is not inside the project ({root}): a release deploys the files the "
            "project holds"
        ) from None


def link_scoring_code(root: Path, scratch: Path, code: ScoringCode) -> None:
    """Links in `scratch` to the project's scoring folder and conda file, for validating a copy."""
    for relative in (code.code, code.conda_file):
        if (scratch / relative).exists():  # the conda file inside the scoring folder, linked with it
            continue
        (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
        (scratch / relative).symlink_to((root / relative).resolve())


def check_endpoint_name(endpoint: str) -> None:
    problems = name_problems(endpoint)
    if problems:
        raise UserError(f"--endpoint: {problems[0]}")


def _endpoint_spec(endpoint: str, model: str) -> str:
    return (
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
        f"name: {endpoint}\n"
        f"description: {model}, released blue/green by rollout.\n"
        "auth_mode: key\n"
    )


def _scoring_section(code: ScoringCode | None) -> str:
    if code is None:
        return ""
    return f"""# Azure runs {code.script} (init(), then run() per request) on its inference server, in the
# environment built from the conda file (its pip list: Azure adds no inference server to it).
code_configuration:
  code: ../{code.code.as_posix()}
  scoring_script: {code.script}
environment:
  conda_file: ../{code.conda_file.as_posix()}
  image: {SCORING_IMAGE}
"""


def _deployment_spec(
    slot: str, endpoint: str, facts: ModelFacts, instance_type: str, code: ScoringCode | None
) -> str:
    return f"""$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: {slot}
endpoint_name: {endpoint}
# The release plan (deployments/release.yml) pins the model version; rollout deploy puts
# that pin here when it deploys into this slot.
model: azureml:{facts.name}:{facts.version}
instance_type: {instance_type}
instance_count: 1
request_settings:
  request_timeout_ms: 5000
  max_concurrent_requests_per_instance: 4
liveness_probe:
  initial_delay: 10
  period: 10
  timeout: 2
  failure_threshold: 30
readiness_probe:
  initial_delay: 1
  period: 1
  timeout: 2
  failure_threshold: 30
tags:
  slot: {slot}
""" + _scoring_section(code)


def _output_section(contract: OutputContract, note: str = "") -> str:
    section = yaml.safe_dump(
        {"output": contract.model_dump(exclude_none=True)}, sort_keys=False, default_flow_style=None
    )
    notes = {
        "labels": "class labels (the ones the model answered the probe rows with); candidate and\n"
        "# live agree on a probe row when they predict the same label.",
        "numbers": "numbers (add min and max to bound them); candidate and live agree on a probe\n"
        "# row when their predictions are within `absolute`, or within `relative` of the larger.",
        "probabilities": "a vector of class probabilities per row; candidate and live agree on a\n"
        "# probe row when their most probable class is the same.",
    }
    heading = "# What each prediction is, from the model's signature and its answers to the probe rows:"
    origin = f"# Tolerance: {note} (docs/agreement-calibration.md).\n" if note else ""
    return f"{heading}\n# {notes[contract.kind]}\n{origin}{section}"


def _drift_limits(contract: OutputContract) -> str:
    """A number model's drift limits, with the study's numbers they came from."""
    if contract.kind != "numbers":
        return ""
    low, high = STUDY_LEGITIMATE_SPREAD_RATIOS
    shift = STUDY_LEGITIMATE_MEAN_SHIFT
    return (
        "  # A number model's answers as a whole, against live's over the probe rows: these stop what\n"
        "  # stays within the tolerance (an offset, a change of scale, a constant answer). The\n"
        f"  # calibration study's legitimate retrains moved their mean at most {shift:g} standard\n"
        f"  # deviations of live's answers and kept their spread within {low:g}x..{high:g}x\n"
        "  # (docs/agreement-calibration.md).\n"
        f"  max_mean_shift: {MAX_MEAN_SHIFT:<12g}"
        "# the mean's move, in standard deviations of live's answers\n"
        f"  max_spread_ratio: {MAX_SPREAD_RATIO:<10g}"
        "# the candidate's spread / live's (or live's / the candidate's)\n"
    )


def _plan(endpoint: str, facts: ModelFacts) -> str:
    stages = "".join(
        f"  - name: {s.name}\n    traffic: {s.traffic}\n    bake: {s.bake}\n"
        f"    environment: {s.environment}\n"
        for s in STAGES
    )
    return f"""# Release plan: what to roll out and how. A model-version pull request changes one line:
# model.version.
model:
  name: {facts.name}
  version: {facts.version}

# The endpoint and its two slots (az ml CLI v2 specs). The slot without live traffic is the
# idle one; a release deploys the pinned model there at 0% and walks traffic to it.
endpoint: ../endpoints/{endpoint}.yml
slots:
  blue: blue.yml
  green: green.yml

# Traffic stages, in order. `traffic` is the candidate's share of live traffic; the last stage
# must reach 100. `bake` is how long the stage runs under analysis before it passes;
# `environment` is the GitHub environment whose protection rules gate the stage.
stages:
{stages}
# Canary analysis: the candidate is compared with the live deployment over each bake window.
analysis:
  min_requests: 100           # fewer candidate requests than this: inconclusive
  max_error_rate: 0.01        # server errors (5xx) the candidate may add over the live rate
  confidence: 0.95            # confidence of the error-rate test
  max_p95_latency_ms: 500     # absolute bound on the candidate's p95 latency
  max_latency_ratio: 1.5      # candidate p95 / live p95
  min_agreement: 0.9          # share of probe rows on which candidate and live agree (see output)
{_drift_limits(facts.output)}
{_output_section(facts.output, facts.output_note)}"""


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def _probe(request: dict[str, Any]) -> str:
    """One row a line: a probe set stays readable and diffs well."""
    data = request["input_data"]
    rows = ",\n".join(f"      {json.dumps(row)}" for row in data["data"])
    columns = json.dumps(data["columns"])
    return f'{{\n  "input_data": {{\n    "columns": {columns},\n    "data": [\n{rows}\n    ]\n  }}\n}}\n'


def project_paths(endpoint: str) -> list[Path]:
    """The files `project_files` writes, known before the model is read."""
    slots = [Path("deployments") / f"{slot}.yml" for slot in SLOTS]
    samples = [SAMPLES_DIR / "sample.json", SCHEMA_FILE, SAMPLES_DIR / "probe.json"]
    return [Path("endpoints") / f"{endpoint}.yml", *slots, PLAN_FILE, *samples]


def project_files(
    endpoint: str,
    facts: ModelFacts,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    code: ScoringCode | None = None,
) -> Scaffold:
    """The specs, plan and samples of a project releasing `facts`' model to `endpoint` (the slots
    running `code`'s scoring script when given, else Azure's no-code MLflow deployment)."""
    check_endpoint_name(endpoint)
    model = f"{facts.name} version {facts.version}"
    files: dict[Path, str] = {Path("endpoints") / f"{endpoint}.yml": _endpoint_spec(endpoint, model)}
    for slot in SLOTS:
        spec = _deployment_spec(slot, endpoint, facts, instance_type, code)
        files[Path("deployments") / f"{slot}.yml"] = spec
    files[PLAN_FILE] = _plan(endpoint, facts)
    files[SAMPLES_DIR / "sample.json"] = _json(facts.sample)
    files[SCHEMA_FILE] = _json(facts.schema)
    files[SAMPLES_DIR / "probe.json"] = _probe(facts.probe)
    return Scaffold(endpoint, facts, files)


def existing(root: Path, files: Iterable[Path]) -> list[Path]:
    """The files that are there already (relative paths)."""
    return [relative for relative in files if (root / relative).exists()]


def refuse_overwrite(root: Path, files: Iterable[Path]) -> None:
    """A UserError naming the files that exist already."""
    there = existing(root, files)
    if there:
        shown = ", ".join(str(relative) for relative in there[:3]) + (" ..." if len(there) > 3 else "")
        raise UserError(
            f"{len(there)} file(s) exist already in {root} ({shown}); pass --force to overwrite them"
        )


def write(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write every file (directories created); the relative paths written, in order."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
