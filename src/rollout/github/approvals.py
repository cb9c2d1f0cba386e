"""Who approved a workflow run's environments: GitHub's review history of a run,
`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals` (the job's token needs `actions: read`).

A job reads it for its own run and environment: the variables GitHub Actions sets in every job
(`GITHUB_API_URL`, `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`) and the token the workflow passes in
`GITHUB_TOKEN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rollout.core.errors import UserError
from rollout.github.api import GitHubApi, Repository, segment

DEFAULT_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class Review:
    """One entry of a run's review history: a reviewer's answer for some of its environments."""

    environments: list[str]
    state: str  # approved, rejected (GitHub also lists pending)
    login: str
    comment: str


@dataclass(frozen=True)
class ActionsRun:
    """The workflow run a job belongs to, as GitHub Actions describes it in the job's variables."""

    api_url: str
    repository: Repository
    run_id: int
    token: str | None

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> ActionsRun | None:
        """The job's run; None outside GitHub Actions."""
        if environ.get("GITHUB_ACTIONS") != "true":
            return None
        run_id = environ.get("GITHUB_RUN_ID", "")
        repository = environ.get("GITHUB_REPOSITORY")
        if not run_id.isdigit() or not repository:
            return None
        return cls(
            api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            repository=Repository.parse(repository),
            run_id=int(run_id),
            token=environ.get("GITHUB_TOKEN") or None,
        )


def run_reviews(api: GitHubApi, run: ActionsRun) -> list[Review]:
    """The run's review history, oldest first (a UserError names what GitHub answered)."""
    repo = run.repository
    with api.answers():
        answer = api.rest.actions.get_reviews_for_run(segment(repo.owner), segment(repo.name), run.run_id)
        items = answer.json()
    try:
        return [
            Review(
                environments=[e.get("name", "") for e in item["environments"]],
                state=item["state"],
                login=item["user"]["login"],
                comment=item.get("comment") or "",
            )
            for item in items
        ]
    except (KeyError, TypeError, AttributeError) as error:  # a review GitHub did not fill in as documented
        raise UserError(
            f"GitHub's review history of run {run.run_id} has an unexpected item ({error!r})"
        ) from None


def approved(reviews: list[Review], environment: str) -> list[Review]:
    """The approvals of `environment`, each reviewer once (their latest)."""
    latest = {r.login: r for r in reviews if environment in r.environments and r.state == "approved"}
    return list(latest.values())
