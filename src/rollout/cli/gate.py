"""How a stage's gate was passed, for its record: in GitHub Actions, who approved the stage's
environment in this run (GitHub's review history of the run); by hand, nobody was asked."""

from __future__ import annotations

import os
from collections.abc import Mapping

from rollout.core.errors import UserError
from rollout.github.api import GitHubApi
from rollout.github.approvals import ActionsRun, approved, run_reviews
from rollout.release.history import GATE_OPEN, GATE_REVIEWED, GATE_UNREAD, Approval


def gate_approval(environment: str, environ: Mapping[str, str] = os.environ) -> Approval | None:
    """The approval of `environment` in the job's run; None outside GitHub Actions. A review
    history that cannot be read is recorded as such: it never stops the stage."""
    run = ActionsRun.of(environ)
    if run is None:
        return None
    if run.token is None:
        why = "no GITHUB_TOKEN in the job's environment"
        return Approval(GATE_UNREAD, environment=environment, why_unread=why)
    try:
        with GitHubApi(run.api_url, run.token) as api:
            reviews = approved(run_reviews(api, run), environment)
    except UserError as exc:
        return Approval(GATE_UNREAD, environment=environment, why_unread=str(exc))
    if not reviews:
        return Approval(GATE_OPEN, environment=environment)
    comment = "; ".join(r.comment for r in reviews if r.comment) or None
    return Approval(GATE_REVIEWED, [r.login for r in reviews], environment, comment)
