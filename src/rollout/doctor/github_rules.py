"""The GitHub side's checks: each environment of `.github/environments.yml`, each protected branch
and the pull requests' variable in step with GitHub, or what `rollout github configure` would
change; `.github/CODEOWNERS` giving each declared pattern its owners. Pure functions of the facts."""

from __future__ import annotations

from rollout.doctor.checks import Check
from rollout.doctor.facts import GitHubFacts, GitHubNotChecked
from rollout.github.defaults import CODEOWNERS_FILE, ENVIRONMENTS_FILE
from rollout.github.environments_config import PULL_REQUEST_CLIENT_ID_VARIABLE
from rollout.github.environments_plan import describe
from rollout.github.pull_request_variable import VariableChange

AREA = "github"
TOKEN_RIGHTS = (
    "a token that reads the repository's administration settings (fine-grained: Administration "
    "read and Variables read; classic: `repo`), with `read:org` for teams"
)


def configure_advice(repo: str) -> str:
    return f"`rollout github configure --repo {repo} --apply` makes it what {ENVIRONMENTS_FILE} says"


def github_checks(facts: GitHubFacts | GitHubNotChecked) -> list[Check]:
    """One line per environment, protected branch and variable (none when GitHub was not read)."""
    if isinstance(facts, GitHubNotChecked):
        return [Check(AREA, "-", True, f"not checked: {facts.reason}")]
    if not facts.declared:
        return [Check(AREA, facts.repo, True, f"no {ENVIRONMENTS_FILE}: no settings to compare")]
    checks = [_codeowners_check(facts)] if facts.codeowners else []
    if facts.error is not None:
        return [
            Check(
                AREA,
                facts.repo,
                False,
                f"cannot read the repository's settings: {facts.error}",
                f"give {TOKEN_RIGHTS}; check the reviewers of {ENVIRONMENTS_FILE} exist on GitHub",
            ),
            *checks,
        ]
    advice = configure_advice(facts.repo)
    for change in facts.environments:
        subject = f"environment {change.name}"
        if change.empty:
            checks.append(Check(AREA, subject, True, f"in step with {ENVIRONMENTS_FILE}"))
        elif not change.exists:
            checks.append(Check(AREA, subject, False, "GitHub has no such environment", advice))
        else:
            checks.append(Check(AREA, subject, False, _changes(describe(change)[1:]), advice))
    for branch in facts.branches:
        subject = f"branch {branch.branch}"
        if branch.empty:
            review = ", code owners' review required" if branch.protection.require_code_owner_reviews else ""
            checks.append(Check(AREA, subject, True, f"protected as declared{review}"))
        elif branch.current is None:
            checks.append(Check(AREA, subject, False, "not protected", advice))
        else:
            checks.append(Check(AREA, subject, False, _changes(branch.describe()[1:]), advice))
    if facts.variable is not None:
        checks.append(_variable_check(facts.variable, advice))
    return checks


def _changes(lines: list[str]) -> str:
    """What configure would change, in one line (GitHub's value -> the file's)."""
    return "would change " + "; ".join(line.strip() for line in lines)


def _variable_check(variable: VariableChange, advice: str) -> Check:
    subject = f"variable {PULL_REQUEST_CLIENT_ID_VARIABLE}"
    if variable.empty:
        return Check(AREA, subject, True, "the pull requests' identity, as declared")
    return Check(
        AREA, subject, False, f"would change {variable.current or 'unset'} -> {variable.wanted}", advice
    )


def _codeowners_check(facts: GitHubFacts) -> Check:
    return Check(
        AREA,
        str(CODEOWNERS_FILE),
        False,
        "; ".join(facts.codeowners),
        f"give each pattern of {ENVIRONMENTS_FILE}'s code_owners its owners in {CODEOWNERS_FILE} "
        "(code owners' reviews read it from the repository)",
    )
