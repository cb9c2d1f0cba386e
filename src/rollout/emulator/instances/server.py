"""One deployment instance: loads an MLflow model once and serves it over HTTP on loopback.

Routes (for the emulator's router and the pool's probes, never for clients):
- `POST /score`: the MLflow no-code contract, parsed by `scoring_input`; the model's predict enforces
  its signature; the reply is a bare JSON list (records orientation). 400 when the body does not
  fit (with the reason), 500 when the model raises (or, reason `internal_error`, the instance).
- `GET /live`: 200 while the process answers. `GET /ready`: 200 once the model is loaded, else 503.
- `GET /swagger`: the deployment's swagger document, from the model's signature (`swagger`).

Score replies carry `RUN_MS_HEADER`, the time the model's predict took (Azure's
`x-ms-run-fn-exec-ms`).

An instance is started by the fork server (`rollout.emulator.instances.fork_server`), which has imported the heavy
libraries already, so `serve` only loads the model. A model that cannot be loaded ends the process
with `LOAD_FAILED_EXIT_CODE` after writing the reason to `failure_path`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rollout.emulator.errors import (
    AzureError,
    BadRequest,
    InstanceModelError,
    InternalServerError,
    ModelNotReady,
    NotFound,
)
from rollout.emulator.instances.scoring_input import InputSpec, parse
from rollout.emulator.instances.swagger import swagger_document

LOAD_FAILED_EXIT_CODE = 3
STOP_GRACE_SECONDS = 10.0
# Worker-to-router header: why a non-200 reply happened (the router maps it to Azure's headers).
ERROR_REASON_HEADER = "x-worker-error-reason"
RUN_MS_HEADER = "x-ms-run-fn-exec-ms"

# The name instance logs have always shown (get_logs output, README): kept across the module move.
LOGGER_NAME = "rollout.emulator.worker"
logger = logging.getLogger(LOGGER_NAME)


class LoadedModel:
    """A pyfunc model, its input spec and the pieces of MLflow's scoring helpers it needs, made once."""

    def __init__(self, model: Any) -> None:
        from mlflow.exceptions import MlflowException
        from mlflow.utils.proto_json_utils import NumpyEncoder, _get_jsonable_obj

        self.model = model
        input_schema = model.metadata.get_input_schema()
        output_schema = model.metadata.get_output_schema()
        self.input_spec = InputSpec.from_schema(input_schema)
        self.signature_inputs = input_schema.to_dict() if input_schema is not None else None
        self.signature_outputs = output_schema.to_dict() if output_schema is not None else None
        self._mlflow_exception = MlflowException
        self._encoder = NumpyEncoder
        self._jsonable = _get_jsonable_obj

    def score(self, body: bytes) -> bytes:
        """The JSON reply to a scoring request body; raises BadRequest or InstanceModelError."""
        parsed = parse(body, self.input_spec)
        if parsed.ignored_columns:
            names = ", ".join(parsed.ignored_columns[:5]) + (
                ", ..." if len(parsed.ignored_columns) > 5 else ""
            )
            logger.warning(
                "Ignored %d input column(s) the signature does not name: %s",
                len(parsed.ignored_columns),
                names,
            )
        try:
            predictions = self.model.predict(parsed.frame, params=parsed.params)
        except self._mlflow_exception as exc:
            if exc.error_code == "INVALID_PARAMETER_VALUE":
                raise BadRequest(_schema_reason(exc.message)) from exc
            raise InstanceModelError(f"{type(exc).__name__}: {exc.message}") from exc
        except Exception as exc:
            raise InstanceModelError(f"{type(exc).__name__}: {exc}") from exc
        return json.dumps(self._jsonable(predictions, pandas_orient="records"), cls=self._encoder).encode()


def _schema_reason(message: str) -> str:
    """MLflow's schema-enforcement message without the (possibly huge) dump of the input."""
    detail = message.rsplit("Error: ", 1)[-1].strip()
    return f"The input does not fit the model signature: {detail}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rollout-instance"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall
    server: InstanceServer

    def do_GET(self) -> None:
        if self.path == "/live":
            self._reply(200, b'{"status": "alive"}')
        elif self.path == "/ready":
            if self.server.model is None:
                self._reply(503, b'{"status": "loading"}')
            else:
                self._reply(200, b'{"status": "ready"}')
        elif self.path.startswith("/swagger"):
            model = self.server.model
            if model is None:
                self._reply_error(ModelNotReady("The model is still loading."), "model_not_ready")
                return
            title = self.headers.get("x-deployment-title", "deployment")
            document = swagger_document(title, model.signature_inputs, model.signature_outputs)
            self._reply(200, json.dumps(document).encode())
        else:
            self._reply_error(NotFound(f"No route {self.path}"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/score":
            self._reply_error(NotFound(f"No route {self.path}"))
            return
        model = self.server.model
        if model is None:
            self._reply_error(ModelNotReady("The model is still loading."), "model_not_ready")
            return
        started = time.perf_counter()
        self.server.enter()
        try:
            reply, status, reason = model.score(body), 200, None
        except AzureError as exc:
            reply, status = exc.to_json(), exc.status
            reason = "model_error" if status >= 500 else "bad_request"
            if status >= 500:
                logger.error("The model failed on a request:\n%s", traceback.format_exc())
        except Exception as exc:  # the instance's own fault: answer it rather than drop the connection
            logger.error("Scoring failed in the instance:\n%s", traceback.format_exc())
            error = InternalServerError(f"The instance failed: {type(exc).__name__}: {exc}")
            reply, status, reason = error.to_json(), error.status, "internal_error"
        finally:
            self.server.leave()
        ms = (time.perf_counter() - started) * 1000
        logger.info("POST /score %d %.1f ms request-id=%s", status, ms, self.headers.get("x-request-id", "-"))
        self._reply(
            status, reply, reason, run_ms=ms
        )  # after the log line: a client that got it finds it logged

    def _reply_error(self, error: AzureError, reason: str | None = None) -> None:
        self._reply(error.status, error.to_json(), reason)

    def _reply(
        self, status: int, body: bytes, reason: str | None = None, run_ms: float | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if run_ms is not None:
                self.send_header(RUN_MS_HEADER, f"{run_ms:.3f}")
            if reason:
                self.send_header(ERROR_REASON_HEADER, reason)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the router gave up on this request (timeout)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged by do_POST; probes are not logged."""


class InstanceServer(ThreadingHTTPServer):
    """A threaded HTTP server on an already listening socket; scoring waits for `model`."""

    daemon_threads = True

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.model: LoadedModel | None = None
        self._active = 0
        self._idle = threading.Condition()

    def enter(self) -> None:
        with self._idle:
            self._active += 1

    def leave(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.warning("Connection from %s failed:\n%s", client_address, traceback.format_exc())


def serve(sock: socket.socket, model_uri: str, failure_path: Path, label: str) -> None:
    """Serve `model_uri` on `sock` until SIGTERM, then exit the process (never returns)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    host, port = sock.getsockname()[:2]
    logger.info("Instance %s (pid %d) listening on http://%s:%d", label, os.getpid(), host, port)
    server = InstanceServer(sock)
    threading.Thread(target=server.serve_forever, args=(0.05,), name="http", daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    logger.info("Loading model %s", model_uri)
    started = time.perf_counter()
    try:
        import mlflow.pyfunc

        server.model = LoadedModel(mlflow.pyfunc.load_model(model_uri))
    except BaseException as exc:
        logger.error("The model could not be loaded:\n%s", traceback.format_exc())
        reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:1000]
        failure_path.write_text(f"the model could not be loaded: {reason}\n")
        _exit(LOAD_FAILED_EXIT_CODE)
    logger.info("Model loaded in %.2f s; instance is ready", time.perf_counter() - started)

    while not stop.wait(1.0):
        pass
    logger.info("Stopping: no new requests; waiting for those in progress")
    server.shutdown()
    server.wait_idle(STOP_GRACE_SECONDS)
    logger.info("Stopped")
    _exit(0)


def _exit(code: int) -> None:
    """End the process without running inherited exit handlers (the fork server's)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(f"{__name__} is started by the emulator's fork server (rollout.emulator.instances.fork_server)")
