"""What the scoring benchmark measures: model servers over HTTP(S), and `pyfunc.predict` in-process."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import sample

CLIENTS = 8
ENDPOINT = "bench"
SPLIT_ENDPOINT = "bench-split"
ROWS = (1, 100)  # the request sizes of the latency runs
# azmlinfsrv's reply header: how long the scoring script's run() took, in milliseconds
FUNCTION_MS_HEADER = "x-ms-run-fn-exec-ms"
# the targets that the goals compare, by name
ENDPOINT_TARGET, INSTANCE_TARGET, SERVE_TARGET = (
    "emulator endpoint",
    "emulator instance",
    "mlflow models serve",
)


@dataclass
class HttpTarget:
    """A model server reached over HTTP(S) with keep-alive connections; `function_ms` keeps the
    run() times azmlinfsrv reports in its replies, by row count."""

    name: str
    port: int
    path: str
    bodies: dict[int, bytes]
    headers: dict[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None
    function_ms: dict[int, list[float]] = field(default_factory=dict)

    def connect(self) -> Callable[[int], bytes]:
        """A keep-alive client: call it with a row count, it returns the reply's body."""
        if self.tls is None:
            connection: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", self.port)
        else:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls)
        headers = {"Content-Type": "application/json", **self.headers}

        def call(rows: int) -> bytes:
            try:
                connection.request("POST", self.path, body=self.bodies[rows], headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()  # the server closed an idle keep-alive connection: reconnect
                connection.request("POST", self.path, body=self.bodies[rows], headers=headers)
                response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"error: {self.name} answered {response.status}: {body[:300]!r}")
            if (function_ms := response.getheader(FUNCTION_MS_HEADER)) is not None:
                self.function_ms.setdefault(rows, []).append(float(function_ms))
            return body

        return call


@dataclass
class InProcessTarget:
    """`pyfunc.predict` on a ready frame, in this process."""

    name: str
    model: Any  # a pyfunc model
    frames: dict[int, Any]  # pandas frames by row count

    def connect(self) -> Callable[[int], bytes]:
        def call(rows: int) -> bytes:
            self.model.predict(self.frames[rows])
            return b""

        return call


Target = HttpTarget | InProcessTarget


def bodies(rows: tuple[int, ...], key: str | None) -> dict[int, bytes]:
    """Request bodies of `rows` copies of the sample row: Azure's `input_data` or MLflow's `key`
    (`dataframe_split`)."""
    row = sample()
    out = {}
    for count in rows:
        split = {"columns": row["columns"], "data": row["data"] * count}
        out[count] = json.dumps({key: split} if key else {"input_data": split}).encode()
    return out
