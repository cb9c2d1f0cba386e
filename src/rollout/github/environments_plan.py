"""The changes that bring an environment from what GitHub has to what `.github/environments.yml`
says, and how they read: pure, no request (`rollout.github.environments_apply` reads GitHub's
side and makes the changes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rollout.github.environments_config import CLIENT_ID_VARIABLE, EnvironmentSpec

if TYPE_CHECKING:
    from githubkit_schemas.v2022_11_28.types import EnvironmentTypeForResponse

BranchPolicy = Literal["all", "protected", "custom"]


@dataclass(frozen=True, order=True)
class ReviewerId:
    type: Literal["Team", "User"]
    id: int
    label: str = field(compare=False)  # login or org/slug, for messages


@dataclass(frozen=True)
class Settings:
    """What PUT /environments/{name} sets, in a form that compares equal when nothing differs."""

    wait_timer: int
    prevent_self_review: bool
    reviewers: tuple[ReviewerId, ...]
    branch_policy: BranchPolicy
    can_admins_bypass: bool

    @classmethod
    def wanted(cls, spec: EnvironmentSpec, reviewers: tuple[ReviewerId, ...]) -> Settings:
        """The settings `spec` asks for, its reviewers resolved to GitHub's ids."""
        return cls(
            wait_timer=spec.wait_timer,
            prevent_self_review=spec.prevent_self_review,
            reviewers=tuple(sorted(set(reviewers))),
            branch_policy=spec.branches if isinstance(spec.branches, str) else "custom",
            can_admins_bypass=spec.can_admins_bypass,
        )


def current_settings(environment: EnvironmentTypeForResponse) -> Settings:
    """Read an environment as GET /repos/{owner}/{repo}/environments/{name} returns it."""
    wait_timer, prevent_self_review, reviewers = 0, False, []
    rules: list[Mapping[str, Any]] = list(environment.get("protection_rules") or [])
    for rule in rules:
        if rule.get("type") == "wait_timer":
            wait_timer = int(rule.get("wait_timer") or 0)
        elif rule.get("type") == "required_reviewers":
            prevent_self_review = bool(rule.get("prevent_self_review", False))
            for entry in rule.get("reviewers") or []:
                who = entry.get("reviewer") or {}
                label = who.get("login") or who.get("slug") or str(who.get("id"))
                reviewers.append(ReviewerId(entry["type"], int(who["id"]), label))
    policy = environment.get("deployment_branch_policy")
    branch_policy: BranchPolicy
    if not policy:
        branch_policy = "all"
    elif policy.get("custom_branch_policies"):
        branch_policy = "custom"
    else:
        branch_policy = "protected"
    # GitHub answers with `can_admins_bypass`, which its OpenAPI description leaves out.
    undescribed: Mapping[str, Any] = environment
    return Settings(
        wait_timer=wait_timer,
        prevent_self_review=prevent_self_review if reviewers else False,
        reviewers=tuple(sorted(reviewers)),
        branch_policy=branch_policy,
        can_admins_bypass=bool(undescribed.get("can_admins_bypass", True)),
    )


@dataclass(frozen=True)
class Current:
    """An environment that GitHub has: its settings, its custom deployment branch policies (id,
    name pattern) and its AZURE_CLIENT_ID variable (None if unset)."""

    settings: Settings
    policies: list[tuple[int, str]]
    client_id: str | None


@dataclass
class EnvironmentChange:
    name: str
    exists: bool
    settings: Settings
    differences: list[str]
    add_branches: list[str]
    remove_policies: list[tuple[int, str]]  # (policy id, name pattern)
    client_id: str
    current_client_id: str | None  # the environment's AZURE_CLIENT_ID variable, None if unset

    @property
    def needs_put(self) -> bool:
        return not self.exists or bool(self.differences)

    @property
    def sets_client_id(self) -> bool:
        return self.current_client_id != self.client_id

    @property
    def empty(self) -> bool:
        return (
            not self.needs_put
            and not self.add_branches
            and not self.remove_policies
            and not self.sets_client_id
        )


def plan_environment(
    name: str, spec: EnvironmentSpec, wanted: Settings, current: Current | None
) -> EnvironmentChange:
    """What changes `name` from `current` (None: GitHub has no such environment) to `spec`, whose
    settings are `wanted`."""
    add: list[str] = []
    remove: list[tuple[int, str]] = []
    if isinstance(spec.branches, list):
        existing = current.policies if current is not None else []
        existing_names = {pattern for _, pattern in existing}
        add = [pattern for pattern in dict.fromkeys(spec.branches) if pattern not in existing_names]
        remove = [(pid, pattern) for pid, pattern in existing if pattern not in spec.branches]
    return EnvironmentChange(
        name,
        exists=current is not None,
        settings=wanted,
        differences=_differences(current.settings, wanted) if current is not None else [],
        add_branches=add,
        remove_policies=remove,
        client_id=str(spec.identity.client_id),
        current_client_id=current.client_id if current is not None else None,
    )


def _describe_reviewers(reviewers: tuple[ReviewerId, ...]) -> str:
    return ", ".join(f"{r.type.lower()} {r.label}" for r in reviewers) or "none"


_SETTINGS_SHOWN: tuple[tuple[str, str, Callable[[Settings], str]], ...] = (
    ("wait_timer", "wait_timer", lambda s: f"{s.wait_timer} min"),
    ("reviewers", "reviewers", lambda s: _describe_reviewers(s.reviewers)),
    ("prevent_self_review", "prevent_self_review", lambda s: str(s.prevent_self_review).lower()),
    (
        "branch_policy",
        "deployment branches",
        lambda s: {"custom": "selected branches"}.get(s.branch_policy, s.branch_policy),
    ),
    ("can_admins_bypass", "can_admins_bypass", lambda s: str(s.can_admins_bypass).lower()),
)


def _differences(current: Settings, desired: Settings) -> list[str]:
    """One line per setting that differs (reviewers compare by id, not by name)."""
    return [
        f"{label}: {show(current)} -> {show(desired)}"
        for attribute, label, show in _SETTINGS_SHOWN
        if getattr(current, attribute) != getattr(desired, attribute)
    ]


def describe(change: EnvironmentChange) -> list[str]:
    if change.empty:
        return [f"environment {change.name}: no changes"]
    lines = [f"environment {change.name}: {'update' if change.exists else 'create'}"]
    if not change.exists:
        lines += [f"  {label}: {show(change.settings)}" for _, label, show in _SETTINGS_SHOWN]
    lines += [f"  {difference}" for difference in change.differences]
    lines += [f"  add branch policy: {pattern}" for pattern in change.add_branches]
    lines += [f"  remove branch policy: {pattern}" for _, pattern in change.remove_policies]
    if change.sets_client_id:
        lines.append(f"  {CLIENT_ID_VARIABLE}: {change.current_client_id or 'unset'} -> {change.client_id}")
    return lines
