"""A shadow stage: the candidate is judged on copies of live requests while users are served by
the live deployment only.

The stage smokes the candidate (by header, as every stage), sets the endpoint's mirror traffic to
`{candidate: mirror}` with the live split unchanged, bakes under analysis (the candidate's numbers
are the mirrored copies it answered; the probe load goes through the endpoint so that it is
mirrored as well), and turns mirroring off when the bake ends, however it ends: pass, fail, an
error, a lost lock or Ctrl-C. Nothing moves live traffic, so a failure has nothing to roll back:
it is recorded and the release stops there. With no live deployment (a first release) there is
nothing to mirror and the stage is skipped, recorded as passed so that the traffic stages follow.
The stage runner in `rollout.release.promote` runs the stage; this module holds its parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rollout.azureml.endpoints import get_endpoint, mirror_traffic, set_mirror

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

    from rollout.azureml.sdk import Progress

SKIPPED = "skipped: no live deployment to mirror requests from (a first release); nothing was judged"


def judged_on_copies(candidate: str, percent: int, live: str) -> str:
    """The note a shadow stage's verdict carries about its numbers."""
    return (
        f"shadow stage: {candidate} was judged on copies of {percent}% of the live requests (its "
        f"replies discarded); users were served by {live} only"
    )


@contextmanager
def mirroring(
    ml: MLClient,
    endpoint: str,
    mirror: dict[str, int],
    say: Progress,
    tags: dict[str, str | None] | None = None,
) -> Iterator[None]:
    """Mirror traffic on for the block (with `tags` in the same write), and off again whatever way
    the block ends.

    Mirroring already off (a rollback that took the lock over turns it off first) is left alone,
    so as not to write the endpoint under the new holder's feet.
    """
    set_mirror(ml, endpoint, mirror, tags)
    try:
        yield
    finally:
        if mirror_traffic(get_endpoint(ml, endpoint)):
            say("mirror off")
            set_mirror(ml, endpoint, {})
