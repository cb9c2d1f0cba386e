"""Branch protection as code: the `branch_protection` and `code_owners` sections of
`.github/environments.yml`, compared with GitHub's settings and `.github/CODEOWNERS`, and applied
with PUT /repos/{owner}/{repo}/branches/{branch}/protection (which replaces the whole protection,
so it is sent only when something differs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout.core.errors import UserError
from rollout.github.api import GitHubApi, Repository, segment
from rollout.github.environments_config import BranchProtectionSpec, EnvironmentsFile, Reviewer

if TYPE_CHECKING:
    from githubkit_schemas.v2022_11_28.types import (
        BranchProtectionTypeForResponse,
        ReposOwnerRepoBranchesBranchProtectionPutBodyType,
    )


@dataclass(frozen=True)
class Protection:
    """What `rollout github configure` manages of a protection, comparable between GitHub and the file."""

    required_approving_review_count: int
    require_code_owner_reviews: bool
    dismiss_stale_reviews: bool
    require_last_push_approval: bool
    required_status_checks: tuple[str, ...]
    strict: bool
    enforce_admins: bool
    allow_force_pushes: bool
    allow_deletions: bool

    @classmethod
    def from_spec(cls, spec: BranchProtectionSpec) -> Protection:
        values = spec.model_dump()
        values["required_status_checks"] = tuple(sorted(set(spec.required_status_checks)))
        return cls(**values)

    @classmethod
    def from_github(cls, answer: BranchProtectionTypeForResponse) -> Protection:
        """Read GET .../branches/{branch}/protection's answer."""
        body: Mapping[str, Any] = answer
        reviews = body.get("required_pull_request_reviews") or {}
        checks = body.get("required_status_checks") or {}
        contexts = checks.get("contexts") or []
        return cls(
            required_approving_review_count=int(reviews.get("required_approving_review_count", 0)),
            require_code_owner_reviews=bool(reviews.get("require_code_owner_reviews", False)),
            dismiss_stale_reviews=bool(reviews.get("dismiss_stale_reviews", False)),
            require_last_push_approval=bool(reviews.get("require_last_push_approval", False)),
            required_status_checks=tuple(sorted(set(contexts))),
            strict=bool(checks.get("strict", False)),
            enforce_admins=_enabled(body, "enforce_admins"),
            allow_force_pushes=_enabled(body, "allow_force_pushes"),
            allow_deletions=_enabled(body, "allow_deletions"),
        )

    def body(self) -> ReposOwnerRepoBranchesBranchProtectionPutBodyType:
        """The request body of PUT /repos/{owner}/{repo}/branches/{branch}/protection."""
        return {
            "required_status_checks": {
                "strict": self.strict,
                "contexts": list(self.required_status_checks),
            },
            "enforce_admins": self.enforce_admins,
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": self.dismiss_stale_reviews,
                "require_code_owner_reviews": self.require_code_owner_reviews,
                "required_approving_review_count": self.required_approving_review_count,
                "require_last_push_approval": self.require_last_push_approval,
            },
            "restrictions": None,
            "allow_force_pushes": self.allow_force_pushes,
            "allow_deletions": self.allow_deletions,
        }


@dataclass(frozen=True)
class BranchChange:
    branch: str
    protection: Protection
    current: Protection | None  # None: the branch is not protected

    @property
    def empty(self) -> bool:
        return self.current == self.protection

    def describe(self) -> list[str]:
        if self.empty:
            return [f"branch {self.branch}: no changes"]
        desired = asdict(self.protection)
        if self.current is None:
            return [f"branch {self.branch}: protect"] + [f"  {k}: {_show(v)}" for k, v in desired.items()]
        current = asdict(self.current)
        return [f"branch {self.branch}: update"] + [
            f"  {key}: {_show(current[key])} -> {_show(value)}"
            for key, value in desired.items()
            if current[key] != value
        ]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ", ".join(value) or "none"
    return str(value)


def _enabled(body: Mapping[str, Any], setting: str) -> bool:
    return bool((body.get(setting) or {}).get("enabled", False))


def plan_branches(api: GitHubApi, repo: Repository, config: EnvironmentsFile) -> list[BranchChange]:
    """Each protected branch of the file against its protection on GitHub (404: unprotected)."""
    repos = api.rest.repos
    changes = []
    for branch, spec in config.branch_protection.items():
        current = api.find(
            repos.get_branch_protection, owner=repo.owner, repo=repo.name, branch=segment(branch)
        )
        changes.append(
            BranchChange(
                branch, Protection.from_spec(spec), Protection.from_github(current) if current else None
            )
        )
    return changes


def apply_branch(api: GitHubApi, repo: Repository, change: BranchChange) -> None:
    with api.answers():
        api.rest.repos.update_branch_protection(
            owner=repo.owner, repo=repo.name, branch=segment(change.branch), data=change.protection.body()
        )


# --- CODEOWNERS -------------------------------------------------------------------------------


def owner_handle(reviewer: Reviewer, org: str) -> str:
    """How CODEOWNERS names an owner: `@login` or `@org/team-slug`."""
    if reviewer.user is not None:
        return f"@{reviewer.user}"
    team = reviewer.team or ""
    return f"@{team}" if "/" in team else f"@{org}/{team}"


def codeowners_problems(config: EnvironmentsFile, text: str | None, org: str) -> list[str]:
    """How `.github/CODEOWNERS` (None: missing) differs from the file's `code_owners`: for each
    declared pattern, the last line for that pattern (the one GitHub applies) must name its owners."""
    if not config.code_owners:
        return []
    if text is None:
        return ["it is missing"]
    owners: dict[str, set[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            owners[fields[0]] = set(fields[1:])
    problems = []
    for pattern, reviewers in config.code_owners.items():
        wanted = {owner_handle(reviewer, org) for reviewer in reviewers}
        have = owners.get(pattern)
        if have != wanted:
            shown = " ".join(sorted(have)) if have else "no line"
            problems.append(f"{pattern} has {shown}; the configuration says {' '.join(sorted(wanted))}")
    return problems


def check_codeowners(config: EnvironmentsFile, path: Path, org: str) -> None:
    """Raise a one-line UserError unless CODEOWNERS gives every declared pattern its owners."""
    text = path.read_text() if path.is_file() else None
    problems = codeowners_problems(config, text, org)
    if problems:
        problem = "; ".join(problems)
        raise UserError(f"{path}: {problem} (code owners reviews need it in the repository)")
