"""The release steps over one connection: `Release` runs each from its own module (deploy,
promote, rollback, retire, status); `rollout.release.context` holds what they share."""

from __future__ import annotations

from collections.abc import Callable

from rollout.release import deploy, promote, retire, rollback, status
from rollout.release.bake import BakeProgress
from rollout.release.context import ReleaseContext
from rollout.release.history import Approval
from rollout.release.promote import StageOptions
from rollout.release.results import DeployResult, RetireResult, RollbackResult, StageResult, Status


class Release(ReleaseContext):
    """The release of a project's pinned model to its endpoint, over one connection."""

    def deploy(
        self, version: int | None = None, force_lock: bool = False, deployments_only: bool = False
    ) -> DeployResult:
        """Deploy the pinned model into the idle slot at 0% traffic; a no-op when already there.
        With `deployments_only`, the endpoint must exist and is not written."""
        return deploy.deploy(self, version, force_lock, deployments_only)

    def promote(  # noqa: PLR0913 (StageOptions' fields as keywords)
        self,
        stage_name: str,
        *,
        bake_seconds: float | None = None,
        probe_rps: float = 0.0,
        force_lock: bool = False,
        on_bake: Callable[[BakeProgress], None] | None = None,
        approval: Approval | None = None,
    ) -> StageResult:
        """Set the stage's split, bake it under analysis, and roll back when it fails; `approval`
        says how its gate was passed (None: run by hand)."""
        return self.run_stage(
            stage_name, StageOptions(bake_seconds, probe_rps, force_lock, on_bake, approval=approval)
        )

    def run_stage(self, stage_name: str, options: StageOptions) -> StageResult:
        """`promote` with its options together (`plan_bake_minimum` among them)."""
        return promote.promote(self, stage_name, options)

    def rollback(self, delete: bool = False, force_lock: bool = False) -> RollbackResult:
        """All traffic back to the deployment that was live before the release; mirror off."""
        return rollback.rollback(self, delete, force_lock)

    def not_this_runs(self, run: str) -> str | None:
        """Why the safety net of GitHub run `run` must change nothing; None when it may roll back."""
        return rollback.not_this_runs(self, run)

    def retire(self, force_lock: bool = False, now: bool = False) -> RetireResult:
        """Delete the drained old deployment of the closed release (`now`: in its grace period too)."""
        return retire.retire(self, force_lock, now)

    def status(self) -> Status:
        return status.status(self)
