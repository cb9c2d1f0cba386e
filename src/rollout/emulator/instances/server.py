"""One deployment instance: loads an MLflow model once and serves it over HTTP on loopback.

Routes (for the emulator's router and the pool's probes, never for clients):
- `POST /score`: the MLflow no-code contract, parsed by `scoring_input`; the model's predict enforces
  its signature; the reply is a bare JSON list (records orientation). 400 when the body does not
  fit (with the reason), 500 when the model raises (or, reason `internal_error`, the instance).
- `GET /live`: 200 while the process answers. `GET /ready`: 200 once the model is loaded, else 503.
- `GET /swagger`: the deployment's swagger document, from the model's signature (`swagger`).

Score replies carry `RUN_MS_HEADER`, the time the model's predict took (Azure's
`x-ms-run-fn-exec-ms`).

An instance is started by the fork server (`rollout.emulator.instances.fork_server`), which has
imported the heavy libraries already, so `serve` only loads the model. A model that cannot be
loaded ends the process with `LOAD_FAILED_EXIT_CODE` after writing the reason to `failure_path`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
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

from rollout.core.waiting import wait_until
from rollout.emulator.errors import (
    AzureError,
    BadRequest,
    InstanceModelError,
    InternalServerError,
    ModelNotReady,
    NotFound,
)
from rollout.emulator.instances.orphans import die_with_parent
from rollout.emulator.instances.scoring_input import InputSpec, parse
from rollout.emulator.instances.swagger import swagger_document

LOAD_FAILED_EXIT_CODE = 3
STOP_GRACE_SECONDS = 10.0
# Worker-to-router header: why a non-200 reply happened (the router maps it to Azure's headers).
ERROR_REASON_HEADER = "x-worker-error-reason"
RUN_MS_HEADER = "x-ms-run-fn-exec-ms"
# Azure's inference server starts this many worker processes (default 1).
WORKER_COUNT_ENV = "WORKER_COUNT"
MAX_WORKERS = 32

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
            if not self.server.ready:
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
    """A threaded HTTP server on an already listening socket; scoring waits for `model`.

    `loaded` holds one byte per worker of the instance, set once that worker's model is loaded
    (shared between the worker processes): the instance is ready when every worker is.
    """

    daemon_threads = True

    def __init__(self, sock: socket.socket, loaded: mmap.mmap | None = None) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.model: LoadedModel | None = None
        self.loaded = loaded
        self._active = 0
        self._idle = threading.Condition()

    @property
    def ready(self) -> bool:
        return self.model is not None and (self.loaded is None or 0 not in self.loaded[:])

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


def worker_count() -> int:
    """$WORKER_COUNT (the deployment's environment variables), as Azure's inference server reads it."""
    value = os.environ.get(WORKER_COUNT_ENV, "").strip() or "1"
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        logger.warning(
            "%s=%r is not a number from 1 to %d; using 1 worker", WORKER_COUNT_ENV, value, MAX_WORKERS
        )
        return 1
    return count


def serve(sock: socket.socket, model_uri: str, failure_path: Path, label: str) -> None:
    """Serve `model_uri` on `sock` until SIGTERM, then exit the process (never returns).

    With $WORKER_COUNT = N > 1 the process forks N - 1 workers first; they accept connections on
    the same socket once their own copy of the model is loaded, and end with it. A worker that
    exits ends the instance (its monitor restarts it).
    """
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    count = worker_count()
    loaded = mmap.mmap(-1, count) if count > 1 else None
    workers: list[int] = []
    index = 0
    if count > 1:
        sock.setblocking(False)  # the workers race for each connection: the losers go on
        parent = os.getpid()
        for number in range(1, count):
            pid = os.fork()
            if pid == 0:
                die_with_parent(parent)
                index, workers = number, []
                break
            workers.append(pid)
    host, port = sock.getsockname()[:2]
    if index == 0:
        logger.info("Instance %s (pid %d) listening on http://%s:%d", label, os.getpid(), host, port)
    else:
        logger.info("Instance %s worker %d of %d (pid %d) started", label, index + 1, count, os.getpid())
    server = InstanceServer(sock, loaded)
    http_thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="http", daemon=True)
    if index == 0:  # answers the probes while loading; the other workers accept once loaded
        http_thread.start()
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
        _stop_workers(workers)
        _exit(LOAD_FAILED_EXIT_CODE)
    if loaded is not None:
        loaded[index] = 1
    if index > 0:
        http_thread.start()
    logger.info(
        "Model loaded in %.2f s; %s is ready",
        time.perf_counter() - started,
        "worker" if index else "instance",
    )

    code = 0
    while not stop.wait(0.5 if workers else 1.0):
        ended = _ended_worker(workers)
        if ended is not None:
            pid, code = ended
            logger.error("Worker pid %d ended (%d); stopping the instance", pid, code)
            code = LOAD_FAILED_EXIT_CODE if code == LOAD_FAILED_EXIT_CODE else 1
            break
    logger.info("Stopping: no new requests; waiting for those in progress")
    server.shutdown()
    _stop_workers(workers)
    server.wait_idle(STOP_GRACE_SECONDS)
    _join_workers(workers, STOP_GRACE_SECONDS)
    logger.info("Stopped")
    _exit(code)


def _ended_worker(workers: list[int]) -> tuple[int, int] | None:
    """A worker that has ended and its exit code, if any."""
    for pid in workers:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            workers.remove(pid)
            return pid, os.waitstatus_to_exitcode(status)
    return None


def _stop_workers(workers: list[int]) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _join_workers(workers: list[int], timeout: float) -> None:
    def all_ended() -> bool:
        while _ended_worker(workers):
            pass  # collect every worker that has ended by now
        return not workers

    wait_until(all_ended, timeout)
    for pid in workers:  # past the grace period; they die with this process anyway
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _exit(code: int) -> None:
    """End the process without running inherited exit handlers (the fork server's)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(f"{__name__} is started by the emulator's fork server (rollout.emulator.instances.fork_server)")
