"""The emulator's front door: a scoring request goes straight to the scoring route.

`POST /online-endpoints/{endpoint}/score` is the one route whose time counts: the router adds it
to every answer of an instance. The front door hands it to `ScoringRoute.score` before the app's
middleware and route table (neither of which does anything to a scoring request: its body cap is
the route's own); every other request, and the lifespan, go to the app.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from rollout.emulator.data.scoring import ScoringRoute

SCORE_PATH = re.compile(r"/online-endpoints/([^/]+)/score")  # the route's `{endpoint}`: no slash


class ScoringFrontDoor:
    """ASGI: scoring requests to `route`, everything else to `app`."""

    def __init__(self, app: ASGIApp, route: ScoringRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = SCORE_PATH.fullmatch(scope["path"])
            if match is not None:
                scope["path_params"] = {"endpoint": match.group(1)}
                response = await self.route.score(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
