"""The project's models: the release plan (typed), and a loaded project (the plan with the
`azure-ai-ml` entities of its endpoint and slot specs).

The plan's field rules are declared here; the rules across files live in `rollout.project`'s rule
modules, and `rollout.project.loading` refuses anything they report. Where files live:
`rollout.project.layout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rollout.core.errors import UserError
from rollout.project.answer_drift import MAX_MEAN_SHIFT, MAX_SPREAD_RATIO
from rollout.project.names import ENVIRONMENT_NAME_PATTERN, MODEL_NAME_PATTERN, STAGE_NAME_PATTERN
from rollout.project.output_contract import EXACT, OutputContract
from rollout.project.traffic import MAX_MIRROR_PERCENT

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")


MIN_LEASE_SECONDS, MAX_LEASE_SECONDS = 15, 60


def parse_duration(value: Any) -> float:
    """Seconds in a duration: a number of seconds (`90`) or number-unit parts (`30s`, `5m`, `1h30m`)."""
    if isinstance(value, bool):
        raise ValueError(_duration_message(value))
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(_duration_message(value))
        return float(value)
    if not isinstance(value, str):
        raise ValueError(_duration_message(value))
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(_duration_message(value))
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units) or units != sorted(units, key="hms".index):
        raise ValueError(_duration_message(value))
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def _duration_message(value: Any) -> str:
    return f"{value!r} is not a duration: use seconds or number-unit parts, such as 90, 30s, 5m or 1h30m"


MAX_RETIRE_AFTER_MINUTES = 43_200  # 30 days


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPin(_Spec):
    """The model version a release rolls out (`azureml:<name>:<version>`)."""

    name: str
    version: int

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not MODEL_NAME_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a valid model name: use at most 255 letters, digits, '-', '_' "
                "and '.', starting with a letter or digit"
            )
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _check_version(cls, value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"must be a positive integer (got {value!r})")
        return value


class Stage(_Spec):
    """One stage, baked and gated: a traffic stage gives the candidate `traffic` percent of live
    traffic; a shadow stage (`mirror`) sends it a copy of that percent of the live requests, whose
    replies are discarded, while live keeps all traffic."""

    name: str
    traffic: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    mirror: StrictInt | None = None
    bake_seconds: float = Field(alias="bake")
    environment: str
    # a stage that moves all traffic refuses to start while the candidate has fewer instances than
    # live: it would serve live's load with less capacity; true lets it
    allow_fewer_instances: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not STAGE_NAME_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a valid stage name: use at most 64 letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("mirror")
    @classmethod
    def _check_mirror(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_MIRROR_PERCENT:
            raise ValueError(
                f"Azure mirrors between 1 and {MAX_MIRROR_PERCENT} percent of live requests (got {value})"
            )
        return value

    @model_validator(mode="after")
    def _traffic_or_mirror(self) -> Stage:
        if (self.traffic is None) == (self.mirror is None):
            raise ValueError(
                "a stage has exactly one of `traffic` (the candidate's share of live traffic) and "
                "`mirror` (the share of live requests copied to it, a shadow stage)"
            )
        return self

    @property
    def is_shadow(self) -> bool:
        """A shadow stage mirrors live requests to the candidate and moves no traffic."""
        return self.mirror is not None

    @property
    def share(self) -> str:
        """What the stage sends the candidate: `10%` (of live traffic) or `mirror 50%` (copies)."""
        return f"mirror {self.mirror}%" if self.mirror is not None else f"{self.traffic}%"

    @field_validator("bake_seconds", mode="before")
    @classmethod
    def _parse_bake(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("environment")
    @classmethod
    def _check_environment(cls, value: str) -> str:
        if not ENVIRONMENT_NAME_PATTERN.match(value) or value != value.strip():
            raise ValueError(
                f"{value!r} is not a valid GitHub environment name: use at most 255 letters, digits, "
                "spaces, '.', '-' and '_', starting with a letter or digit"
            )
        return value


class AnalysisLimits(_Spec):
    """Canary analysis limits: what the candidate must show over each bake window."""

    min_requests: Annotated[StrictInt, Field(ge=1)] = 100
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.01
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    max_p95_latency_ms: Annotated[float, Field(gt=0)] = 500
    max_latency_ratio: Annotated[float, Field(ge=1)] = 1.5
    min_agreement: Annotated[float, Field(ge=0, le=1)] = 0.9
    # a number model's answers as a whole: the mean's move in standard deviations of live's answers,
    # and the ratio of the two spreads (either way)
    max_mean_shift: Annotated[float, Field(gt=0)] = MAX_MEAN_SHIFT
    max_spread_ratio: Annotated[float, Field(gt=1)] = MAX_SPREAD_RATIO


class LockSettings(_Spec):
    """`lock`: where the release lock's blob lives and how long its lease runs between renewals.

    By default the blob is in the container of the workspace's default datastore; a team may name
    a container, or a storage account's blob service URL (`https://ACCOUNT.blob.core.windows.net`).
    """

    account_url: str | None = None
    container: str | None = None
    lease_seconds: int = Field(30, alias="lease")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("lease_seconds", mode="before")
    @classmethod
    def _parse_lease(cls, value: Any) -> int:
        seconds = parse_duration(value)
        if seconds != int(seconds) or not MIN_LEASE_SECONDS <= seconds <= MAX_LEASE_SECONDS:
            raise ValueError(
                f"a lease lasts {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS} whole seconds (Azure Storage's "
                f"finite leases): got {value!r}"
            )
        return int(seconds)

    @field_validator("account_url", mode="after")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"must be an https URL of a storage account's blob service: got {value!r}")
        return value


class ReleasePlan(_Spec):
    """`deployments/release.yml`: the pinned model, the endpoint and its slots, stages and limits.

    Paths are resolved relative to the plan file (pass `context={"base": <its directory>}`).
    """

    model: ModelPin
    endpoint: Path
    slots: dict[str, Path]
    stages: Annotated[list[Stage], Field(min_length=1)]
    analysis: AnalysisLimits = AnalysisLimits()
    output: OutputContract | None = None  # without it: the model's output signature, else equality
    # how long the old deployment stays at 0% after the last stage, so that a rollback is one
    # traffic change; in the release workflow, the wait timer of the retire job's environment
    retire_after_seconds: float = Field(0.0, alias="retire_after")
    lock: LockSettings = LockSettings.model_validate({})

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("retire_after_seconds", mode="before")
    @classmethod
    def _parse_retire_after(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds % 60 or seconds > MAX_RETIRE_AFTER_MINUTES * 60:
            raise ValueError(
                f"must be whole minutes, at most {MAX_RETIRE_AFTER_MINUTES // 60}h (GitHub's longest "
                f"environment wait timer, which holds the retire job): got {value!r}"
            )
        return seconds

    @field_validator("endpoint", mode="after")
    @classmethod
    def _resolve_endpoint(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)

    @field_validator("slots", mode="after")
    @classmethod
    def _resolve_slots(cls, value: dict[str, Path], info: ValidationInfo) -> dict[str, Path]:
        return {slot: _resolve(path, info) for slot, path in value.items()}

    @property
    def model_reference(self) -> str:
        """The pinned model as deployments refer to it: `azureml:<name>:<version>`."""
        return f"azureml:{self.model.name}:{self.model.version}"

    @property
    def output_contract(self) -> OutputContract:
        """The plan's output contract; without one, any label and agreement by equality."""
        return self.output or EXACT

    def stage(self, name: str) -> Stage:
        """The stage called `name`; a UserError naming the known stages otherwise."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = ", ".join(stage.name for stage in self.stages)
        raise UserError(f"no stage {name!r} in the release plan (its stages: {known})")


def _resolve(path: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base")
    return (Path(base) / path).resolve() if base is not None else path


@dataclass(frozen=True)
class Project:
    """A validated project: its release plan and the `azure-ai-ml` entities of its specs."""

    root: Path
    plan: ReleasePlan
    endpoint: ManagedOnlineEndpoint
    deployments: dict[str, ManagedOnlineDeployment]  # keyed by slot name

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name (validation refuses a spec without one)."""
        return str(self.endpoint.name)
