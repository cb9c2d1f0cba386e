"""One recorded exchange and the recording's files: JSON Lines, a file per process.

Each line is an `Exchange`: which client sent it (`arm`: azure-ai-ml and Azure Monitor through
azure-core; `scoring`: the scoring client; `metrics`: the emulator's own metrics), the request
(method, the URL as scheme and host, path and query, headers, body) and the response (status,
headers, body), a sequence number within its process and a UTC timestamp. A JSON body is kept as
JSON (`body`), any other as text (`text`). Files are named `<time>-<pid>.jsonl`; a recording is
every file of its directory, in the order the exchanges were sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rollout.core.errors import UserError

FORMAT = 1
SUFFIX = ".jsonl"


class RecordingError(UserError):
    """A recording directory that cannot be read: missing, empty, or a line that is no exchange."""


@dataclass(frozen=True)
class Message:
    """A request's or a response's headers and body (JSON in `body`, anything else in `text`)."""

    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    text: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One request to the target and its response, scrubbed."""

    seq: int
    time: str  # UTC, ISO 8601 with microseconds: orders exchanges across processes
    pid: int
    client: str  # arm | scoring | metrics
    method: str
    host: str  # scheme://host[:port]
    path: str
    query: str  # the raw query string, without '?'
    status: int
    request: Message
    response: Message
    format: int = FORMAT

    @property
    def url(self) -> str:
        return self.host + self.path + (f"?{self.query}" if self.query else "")

    def to_line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        return cls(
            **{key: value for key, value in data.items() if key not in ("request", "response")},
            request=Message(**data["request"]),
            response=Message(**data["response"]),
        )


def read_recording(directory: Path) -> list[Exchange]:
    """Every exchange of a recording directory, in the order they were sent (time, then process and
    sequence number)."""
    if not directory.is_dir():
        raise RecordingError(f"no recording directory at {directory}")
    exchanges = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                exchanges.append(Exchange.from_json(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                raise RecordingError(f"{path}:{number}: not a recorded exchange ({exc})") from None
    if not exchanges:
        raise RecordingError(f"{directory} holds no recorded exchange (*{SUFFIX})")
    return sorted(exchanges, key=lambda exchange: (exchange.time, exchange.pid, exchange.seq))
