"""A recording replayed against the emulator, in order, each answer compared with the recorded one.

- Where requests go: ARM and Azure Monitor requests (`arm`) to the emulator's resource manager,
  with the recording's workspace (`/subscriptions/<placeholder>/resourceGroups/<rg>/.../workspaces/
  <ws>`) replaced by the emulator's in the path, the query and the body; the emulator's metrics
  (`metrics`) to its own; scoring requests to the URL the emulator gave where the recording got
  theirs: every URL in a recorded response (a JSON string such as `scoringUri`, a `location` or
  `azure-asyncoperation` header) is mapped to the emulator's at the same place.
- Credentials: the emulator's management token for ARM, the endpoint's key (its `listKeys`, or its
  `token` for token auth) for scoring.
- Long-running operations are judged by their final state: a recorded poll of an operation URL
  whose answer was not final yet is skipped; the final one polls the emulator's operation URL until
  it is final too (or `poll_timeout` passes), and that answer is compared.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from rollout.azureml.recording.exchanges import Exchange, Message
from rollout.azureml.recording.recorder import message
from rollout.azureml.recording.shapes import Difference, differences

WORKSPACE_PATH = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/?#]+",
    re.IGNORECASE,
)
SUBSCRIPTION_PATH = re.compile(r"/subscriptions/([^/?#]+)", re.IGNORECASE)
ENDPOINT_PATH = re.compile(r"/onlineEndpoints/([^/?#]+)", re.IGNORECASE)
OPERATION_HEADERS = ("azure-asyncoperation", "location")
NOT_FINAL = frozenset({"notstarted", "inprogress", "running", "accepted", "creating", "updating", "deleting"})
NOT_SENT = frozenset({"authorization", "host", "content-length", "connection", "accept-encoding", "cookie"})
KEYS_API_VERSION = "2023-04-01-preview"


@dataclass(frozen=True)
class ReplayedExchange:
    """One recorded exchange and what its replay found (`note` when it was not compared)."""

    number: int  # the exchange's place in the recording, from 1
    exchange: Exchange
    differences: tuple[Difference, ...] = ()
    status: int | None = None
    note: str | None = None

    @property
    def line(self) -> str:
        recorded = self.exchange
        path = SUBSCRIPTION_PATH.sub("{subscription}", WORKSPACE_PATH.sub("{workspace}", recorded.path))
        head = f"{self.number:>4} {recorded.method:<6} {path}"
        if self.note:
            return f"{head}: {self.note}"
        if self.differences:
            return f"{head}: differs (recorded {recorded.status}, emulator {self.status})"
        return f"{head}: same ({self.status})"


@dataclass(frozen=True)
class EmulatorSide:
    """Where and how the replay reaches the emulator."""

    base_url: str
    token: str
    verify: Any  # httpx's verify: an SSL context or True
    workspace_path: str
    poll_timeout: float = 300.0


class Replay:
    """Replays exchanges in order against the emulator, learning its URLs and keys as it goes."""

    def __init__(self, emulator: EmulatorSide, http: httpx.Client | None = None) -> None:
        self._emulator = emulator
        self._http = http or httpx.Client(verify=emulator.verify, timeout=120)
        self._urls: dict[str, tuple[str, str | None]] = {}  # recorded URL -> (emulator's, endpoint)
        self._operations: set[str] = set()  # recorded operation URLs (polled)
        self._keys: dict[str, str] = {}  # endpoint -> key or token
        self._workspace: str | None = None  # the recording's workspace path

    def run(self, exchanges: list[Exchange]) -> Iterator[ReplayedExchange]:
        for number, exchange in enumerate(exchanges, start=1):
            yield self.replay(number, exchange)

    def replay(self, number: int, exchange: Exchange) -> ReplayedExchange:
        if self._workspace is None and (workspace := WORKSPACE_PATH.search(exchange.path)):
            self._workspace = workspace.group(0)
        polled = exchange.method == "GET" and exchange.url in self._operations
        if polled and not _final(exchange.status, exchange.response):
            return ReplayedExchange(
                number, exchange, note="a poll before the operation's final state: skipped"
            )
        try:
            url, endpoint = self._url(exchange)
        except LookupError as missing:
            unsent = Difference("request", "sent", f"not sent: {missing}")
            return ReplayedExchange(number, exchange, (unsent,), note=f"not sent: {missing}")
        status, response = self._send(exchange, url, endpoint)
        if polled:
            status, response = self._until_final(exchange, url, status, response)
        self._learn(exchange, response)
        found = differences(exchange.status, exchange.response, status, response)
        return ReplayedExchange(number, exchange, tuple(found), status)

    def _url(self, exchange: Exchange) -> tuple[str, str | None]:
        recorded = exchange.url
        if recorded in self._urls:
            return self._urls[recorded]
        bare = exchange.host + exchange.path
        if bare in self._urls:
            url, endpoint = self._urls[bare]
            return url + (f"?{self.substitute(exchange.query)}" if exchange.query else ""), endpoint
        if exchange.client == "scoring":
            raise LookupError("the emulator gave no URL in its place (no recorded response named it)")
        query = f"?{self.substitute(exchange.query)}" if exchange.query else ""
        return self._emulator.base_url.rstrip("/") + self.substitute(exchange.path) + query, None

    def substitute(self, text: str) -> str:
        """The recording's workspace (and subscription) replaced by the emulator's."""
        if self._workspace:
            text = re.sub(
                re.escape(self._workspace), self._emulator.workspace_path, text, flags=re.IGNORECASE
            )
            recorded_subscription = SUBSCRIPTION_PATH.match(self._workspace)
            ours = SUBSCRIPTION_PATH.match(self._emulator.workspace_path)
            if recorded_subscription and ours:
                text = text.replace(recorded_subscription.group(1), ours.group(1))
        return text

    def _send(self, exchange: Exchange, url: str, endpoint: str | None) -> tuple[int, Message]:
        headers = {
            name: self.substitute(value)
            for name, value in exchange.request.headers.items()
            if name.lower() not in NOT_SENT
        }
        if exchange.client == "arm":
            headers["Authorization"] = f"Bearer {self._emulator.token}"
        elif exchange.client == "scoring" and endpoint:
            headers["Authorization"] = f"Bearer {self._key(endpoint)}"
        body = self._body(exchange.request)
        response = self._http.request(exchange.method, url, headers=headers, content=body)
        return response.status_code, message(response.headers, lambda: response.content)

    def _body(self, request: Message) -> bytes | None:
        if request.body is not None:
            return self.substitute(json.dumps(request.body)).encode()
        return self.substitute(request.text).encode() if request.text else None

    def _until_final(
        self, exchange: Exchange, url: str, status: int, response: Message
    ) -> tuple[int, Message]:
        deadline = time.monotonic() + self._emulator.poll_timeout
        while not _final(status, response) and time.monotonic() < deadline:
            time.sleep(0.5)
            status, response = self._send(exchange, url, None)
        return status, response

    def _learn(self, exchange: Exchange, response: Message) -> None:
        """Map the URLs of the recorded response to the emulator's at the same places."""
        endpoint = ENDPOINT_PATH.search(exchange.path)
        name = endpoint.group(1) if endpoint else None
        recorded = {key.lower(): value for key, value in exchange.response.headers.items()}
        ours = {key.lower(): value for key, value in response.headers.items()}
        for header in OPERATION_HEADERS:
            if header in recorded and header in ours:
                self._urls[recorded[header]] = (ours[header], None)
                self._operations.add(recorded[header])
        for mine, theirs in _url_pairs(exchange.response.body, response.body):
            self._urls[mine] = (theirs, name)
        keys = exchange.path.lower().endswith(("/listkeys", "/token"))
        if name and keys and isinstance(response.body, dict):
            key = response.body.get("primaryKey") or response.body.get("accessToken")
            if isinstance(key, str):
                self._keys[name] = key

    def _key(self, endpoint: str) -> str:
        if endpoint not in self._keys:
            path = f"{self._emulator.workspace_path}/onlineEndpoints/{endpoint}"
            for action, field in (("listKeys", "primaryKey"), ("token", "accessToken")):
                answer = self._http.post(
                    f"{self._emulator.base_url.rstrip('/')}{path}/{action}",
                    params={"api-version": KEYS_API_VERSION},
                    headers={"Authorization": f"Bearer {self._emulator.token}"},
                )
                value = answer.json().get(field) if answer.status_code == 200 else None
                if isinstance(value, str) and value:
                    self._keys[endpoint] = value
                    break
        return self._keys.get(endpoint, "")

    def close(self) -> None:
        self._http.close()


def _final(status: int, response: Message) -> bool:
    """Whether a poll's answer is final: not 202, and no operation status that is still going."""
    if status == 202:
        return False
    state = response.body.get("status") if isinstance(response.body, dict) else None
    return not (isinstance(state, str) and state.lower() in NOT_FINAL)


def _url_pairs(recorded: Any, replayed: Any) -> Iterator[tuple[str, str]]:
    """(recorded, emulator's) pairs of URL strings at the same JSON paths, outside arrays (whose
    items need not be the same resources in both)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in recorded.keys() & replayed.keys():
            yield from _url_pairs(recorded[key], replayed[key])
    elif isinstance(recorded, str) and isinstance(replayed, str) and recorded.startswith("http"):
        yield from [(recorded, replayed)] if replayed.startswith("http") else []
