"""Why an environment cannot be had: refused before any build, or a build that failed.

Azure names a failed environment by the kind of deployment: a custom environment is built into an
image before any container starts, and a failed build is `ImageBuildFailure`; a no-code MLflow
deployment installs the model's packages when its container starts, so a bad pin or a missing
package is a container that never becomes ready, `ResourceNotReady`. `EnvironmentBuildFailed`
carries which (`azure_code`) for the provisioning layer to answer with.
"""

from __future__ import annotations

from enum import StrEnum


class EnvironmentKind(StrEnum):
    """Where a deployment's environment comes from, which decides how Azure reports its failure."""

    MLFLOW_MODEL = "mlflow-model"  # a no-code MLflow deployment: the model's own dependencies
    CUSTOM = "custom"  # a deployment's `environment:` (a conda file, with or without an image)

    @property
    def failure_code(self) -> str:
        """Azure's error code for an environment of this kind that cannot be built."""
        return "ResourceNotReady" if self is EnvironmentKind.MLFLOW_MODEL else "ImageBuildFailure"


class EnvironmentProblem(Exception):
    """An environment the emulator cannot provide; `str(error)` is the whole message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EnvironmentSpecInvalid(EnvironmentProblem):
    """The files that should describe an environment are missing or unreadable."""


class EnvironmentNotEmulated(EnvironmentProblem):
    """An environment Azure could provide but the emulator cannot: a registered environment, an
    image's own packages, conda packages PyPI does not have."""


class EnvironmentBuildFailed(EnvironmentProblem):
    """The installer could not build the environment; the message is its own (uv's), trimmed."""

    def __init__(self, message: str, kind: EnvironmentKind) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def azure_code(self) -> str:
        """`ImageBuildFailure` (a custom environment) or `ResourceNotReady` (a no-code MLflow model)."""
        return self.kind.failure_code
