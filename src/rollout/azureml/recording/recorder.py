"""The recorder: every exchange of this process with the target, scrubbed, appended to its file.

`--record DIR` (or `ROLLOUT_RECORD=DIR`) turns it on for a command and the processes it starts
(they inherit the variable). The clients that talk to a target take their hooks from here:
azure-core's `raw_response_hook` (azure-ai-ml's `MLClient`, Azure Monitor's client) and httpx's
response event hook (the scoring client, the emulator's metrics). Each process appends to a file
of its own, `DIR/<time>-<pid>.jsonl`; every process of a recording shares the directory's salt
(`DIR/.salt`, not part of a recording one shares), so an id gets the same placeholder in all of them.
A failure to record is said once on stderr and never fails the command.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rollout.azureml.recording.exchanges import SUFFIX, Exchange, Message
from rollout.azureml.recording.scrubber import Scrubber

if TYPE_CHECKING:
    import httpx
    from azure.core.pipeline import PipelineResponse

RECORD_ENV = "ROLLOUT_RECORD"
SALT_FILE = ".salt"
MAX_BODY = 1 << 20  # larger bodies are noted by their size, not recorded
TEXT_TYPES = ("json", "text", "xml", "html", "x-www-form-urlencoded")


class Recorder:
    """Appends this process's exchanges, scrubbed, to its file in a recording directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._scrubber = Scrubber(_salt(directory))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self.file = directory / f"{stamp}-{os.getpid()}{SUFFIX}"
        self._lock = threading.Lock()
        self._seq = 0
        self._warned = False

    def record(
        self,
        client: str,
        method: str,
        url: str,
        status: int,
        messages: tuple[Message, Message],
    ) -> None:
        """Scrub one exchange (its request's and response's messages) and append it (thread-safe)."""
        request, response = messages
        parts = urlsplit(url)
        with self._lock:
            self._seq += 1
            exchange = Exchange(
                seq=self._seq,
                time=datetime.now(UTC).isoformat(timespec="microseconds"),
                pid=os.getpid(),
                client=client,
                method=method.upper(),
                host=f"{parts.scheme}://{parts.netloc}",
                path=parts.path,
                query=parts.query,
                status=status,
                request=request,
                response=response,
            )
            line = self._scrubber.scrub(exchange).to_line()
            with self.file.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def azure_hook(self, response: PipelineResponse) -> None:
        """azure-core's `raw_response_hook`: each attempt's request and response."""
        try:
            sent, received = response.http_request, response.http_response
            body = sent.body if isinstance(sent.body, bytes | str) else None
            self.record(
                "arm",
                sent.method,
                sent.url,
                received.status_code,
                (message(sent.headers, lambda: body), message(received.headers, received.body)),
            )
        except Exception as exc:  # recording never fails the command it records
            self._warn(exc)

    def httpx_hook(self, client: str) -> Callable[[httpx.Response], None]:
        """An httpx response event hook recording as `client`."""

        def hook(response: httpx.Response) -> None:
            try:
                response.read()
                sent = response.request
                self.record(
                    client,
                    sent.method,
                    str(sent.url),
                    response.status_code,
                    (
                        message(sent.headers, lambda: sent.content),
                        message(response.headers, lambda: response.content),
                    ),
                )
            except Exception as exc:  # recording never fails the command it records
                self._warn(exc)

        return hook

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            print(f"warning: recording to {self.directory} failed: {exc!r}", file=sys.stderr)


def message(headers: Mapping[str, str], read: Callable[[], bytes | str | None]) -> Message:
    """A request's or response's headers and body: JSON when it parses, else text, else its size."""
    kept = {str(name): str(value) for name, value in headers.items()}
    kind = next((value for name, value in kept.items() if name.lower() == "content-type"), "").lower()
    length = next((value for name, value in kept.items() if name.lower() == "content-length"), "")
    if length.isdigit() and int(length) > MAX_BODY:
        return Message(headers=kept, text=f"<{length} bytes, not recorded>")
    if kind and not any(text in kind for text in TEXT_TYPES):  # not read: it may be a stream
        return Message(headers=kept, text=f"<{length or 'some'} bytes of {kind.split(';')[0]}>")
    raw = read()
    if not raw:
        return Message(headers=kept)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if len(text) > MAX_BODY:
        return Message(headers=kept, text=f"<{len(text)} characters, not recorded>")
    try:
        return Message(headers=kept, body=json.loads(text))
    except ValueError:
        return Message(headers=kept, text=text)


_RECORDERS: dict[tuple[Path, int], Recorder] = {}
_RECORDERS_LOCK = threading.Lock()


def active() -> Recorder | None:
    """The recorder of `$ROLLOUT_RECORD` for this process, or None when nothing is recorded."""
    configured = os.environ.get(RECORD_ENV)
    if not configured:
        return None
    key = (Path(configured).resolve(), os.getpid())
    with _RECORDERS_LOCK:
        if key not in _RECORDERS:
            _RECORDERS[key] = Recorder(key[0])
        return _RECORDERS[key]


def azure_options() -> dict[str, Any]:
    """Keyword options for an azure-core client (MLClient, MetricsQueryClient): the recording hook."""
    recorder = active()
    return {"raw_response_hook": recorder.azure_hook} if recorder else {}


def httpx_hooks(client: str) -> dict[str, list[Callable[[httpx.Response], None]]]:
    """httpx's `event_hooks` for a client of the target (`scoring`, `metrics`)."""
    recorder = active()
    return {"response": [recorder.httpx_hook(client)]} if recorder else {}


def _salt(directory: Path) -> str:
    """The recording's salt: made by its first process, read by the others."""
    path = directory / SALT_FILE
    if not path.exists():
        draft = directory / f"{SALT_FILE}.{os.getpid()}"
        draft.write_text(secrets.token_hex(16) + "\n")
        draft.chmod(0o600)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)  # atomic: the first process's salt wins, complete
        finally:
            draft.unlink()
    return path.read_text().strip()
