"""The ready process of one deployment environment: it runs in that environment's own Python,
imports Azure's inference server and the heavy libraries once, and forks an instance per request.

Starting `azmlinfsrv` from nothing takes seconds (Flask, gunicorn, MLflow, pandas, the model's
libraries); a fork of a process that has imported them starts Azure's server at once and only
loads its model. Each child runs Azure's own entry point (`amlserver.run`, what the `azmlinfsrv`
command calls) as the command would, bound to loopback, with the deployment's environment
variables, in its own working directory, its output in its instance log: gunicorn and its workers
are Azure's, unchanged. The preloaded modules are only imported, never configured: the server's
settings (`server.config`) and the scoring script are read by each instance after the fork.

This file runs in a built environment, never in rollout's: it imports nothing of rollout (the
environment has no rollout), only the standard library and what the environment holds.

Protocol with the emulator (`rollout.emulator.instances.fork_client`), one JSON object a line:
- commands on stdin: `{"op": "spawn", "id": ..., "argv": [...], "environ": {...}, "cwd": ...,
  "log_path": ..., "label": ...}` (`argv`: azmlinfsrv's arguments but `--port`, which is the port
  of the socket bound here) and `{"op": "signal", "pid": ..., "signal": 15}`;
- events on stdout: `{"event": "ready", "seconds": ..., "preloaded": [...]}`; `{"event":
  "spawned", "id": ..., "pid": ..., "port": ...}` or `{"event": "spawn_failed", "id": ...,
  "reason": ..., "final": false}`; `{"event": "exited", "pid": ..., "returncode": ...}`.
End of stdin means the emulator is gone: every instance is stopped and this process exits.
An instance gets SIGTERM when this process dies (Linux parent-death signal): gunicorn stops its
workers then. An instance's workers are in its session: they are killed with it once it has exited.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import io
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any

COMMAND_NOT_FOUND = 127  # what a shell exits with when the container's `azmlinfsrv` is not installed
# Azure's server without what reads the environment when it is imported: its settings
# (`server.config`), its routes (which load the scoring script) and gunicorn (whose settings take
# their defaults, such as the control socket's path, from the environment at import); each
# instance imports those after the fork, with its own variables.
SERVER_MODULES = (
    "azureml_inference_server_http.amlserver",
    "azureml_inference_server_http.server.user_script",
    "azureml_inference_server_http.server.input_parsers",
    "flask",
    "flask_cors",
    "pydantic_settings",
    "azure.monitor.opentelemetry.exporter",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk._logs",
    "inference_schema.schema_decorators",
    "inference_schema.parameter_types.numpy_parameter_type",
    "inference_schema.parameter_types.pandas_parameter_type",
    "inference_schema.parameter_types.standard_py_parameter_type",
)
# What models load with, imported when the environment has it (the model's requirements decide).
MODEL_MODULES = (
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "sklearn.compose",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels.api",
    "skops.io",
    "cloudpickle",
    "torch",
    "mlflow",
    "mlflow.pyfunc",
    "mlflow.models",
    "mlflow.pyfunc.scoring_server",
    "mlflow.sklearn",
    "mlflow.xgboost",
    "mlflow.lightgbm",
)
HOST = "127.0.0.1"
LISTEN_FD = 3  # the first socket of systemd's socket activation, which gunicorn takes over
STOP_GRACE_SECONDS = 5.0
PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} ready process {os.getpid()}: {message}", file=sys.stderr)


def preload() -> list[str]:
    """Import what the environment has of `SERVER_MODULES` and `MODEL_MODULES`; the names imported."""
    imported = []
    gc.disable()  # imports make many objects and few cycles: no collections meanwhile
    for name in (*SERVER_MODULES, *MODEL_MODULES):
        try:
            if importlib.util.find_spec(name.split(".", 1)[0]) is None:
                continue
            importlib.import_module(name)
        except Exception as error:  # a library that fails here fails the model that needs it, later
            log(f"not preloaded: {name} ({type(error).__name__}: {error})")
            continue
        imported.append(name)
    if "mlflow" in sys.modules:
        with contextlib.suppress(Exception):  # the slow part of every load_model's requirements check
            from mlflow.utils import requirements_utils

            requirements_utils._init_packages_to_modules_map()
    gc.enable()
    gc.freeze()  # what is imported stays: the forks share its memory instead of copying it at collection
    return imported


def die_with_parent(parent: int, signum: int) -> None:
    """Ask Linux to send `signum` to this process when `parent` dies; exit if it has already."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    if os.getppid() != parent:
        os._exit(1)


class ReadyProcess:
    """The loop: commands on stdin, events on `events_fd`, instances reaped as they exit."""

    def __init__(self, events_fd: int) -> None:
        self.events_fd = events_fd
        self.children: set[int] = set()
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)

    def emit(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        while data:
            data = data[os.write(self.events_fd, data) :]

    def run(self, preloaded: list[str], seconds: float) -> None:
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)  # stopped by the end of stdin
        self.emit({"event": "ready", "seconds": round(seconds, 3), "preloaded": preloaded})
        pending = b""
        while True:
            readable, _, _ = select.select([0, self.wakeup_r], [], [])
            if self.wakeup_r in readable:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.wakeup_r, 4096):
                        pass
            self.reap()
            if 0 in readable:
                chunk = os.read(0, 65536)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.handle(json.loads(line))
        self.stop_all()

    def handle(self, command: dict[str, Any]) -> None:
        if command.get("op") == "spawn":
            self.spawn(command)
        elif command.get("op") == "signal" and int(command["pid"]) in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(command["pid"]), int(command["signal"]))
        else:
            log(f"unknown command {command.get('op')!r}")

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # its workers, if any outlived it
            self.emit({"event": "exited", "pid": pid, "returncode": os.waitstatus_to_exitcode(status)})

    def stop_all(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.02)
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        while self.children:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.children.discard(pid)

    def spawn(self, command: dict[str, Any]) -> None:
        request_id = command["id"]
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sock.listen(128)
            log_fd = os.open(command["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as error:
            self.emit({"event": "spawn_failed", "id": request_id, "reason": str(error), "final": False})
            return
        port = sock.getsockname()[1]
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as error:
            os.close(log_fd)
            sock.close()
            reason = f"fork failed: {error}"
            self.emit({"event": "spawn_failed", "id": request_id, "reason": reason, "final": False})
            return
        if pid == 0:
            code = 1  # an exception the server let through: what the `azmlinfsrv` command exits with
            try:
                code = self.become_instance(command, sock, log_fd, parent)
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os._exit(code)
        os.close(log_fd)
        sock.close()
        self.children.add(pid)
        self.emit({"event": "spawned", "id": request_id, "pid": pid, "port": port})

    def become_instance(self, command: dict[str, Any], sock: socket.socket, log_fd: int, parent: int) -> int:
        """In the forked child: Azure's server on `sock`, as `azmlinfsrv` would run it; its exit code."""
        port = sock.getsockname()[1]
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()
        die_with_parent(parent, signal.SIGTERM)  # gunicorn stops its workers on SIGTERM
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.dup2(sock.fileno(), LISTEN_FD)  # replaces the events descriptor if it was there
        for fd in {devnull, log_fd, sock.fileno(), self.wakeup_r, self.wakeup_w, self.events_fd}:
            if fd > LISTEN_FD:
                with contextlib.suppress(OSError):
                    os.close(fd)
        sock.detach()
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(line_buffering=True)
        os.environ.clear()
        os.environ.update(command["environ"])
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        os.chdir(command["cwd"])
        print(f"Instance {command.get('label', '')} (pid {os.getpid()}) listening on http://{HOST}:{port}")
        try:
            from azureml_inference_server_http import amlserver
        except ModuleNotFoundError as missing:  # a custom environment without Azure's server
            print(f"azmlinfsrv: command not found\n{type(missing).__name__}: {missing}", file=sys.stderr)
            return COMMAND_NOT_FOUND

        amlserver.DEFAULT_HOST = HOST  # the command binds 0.0.0.0; the emulator's instances loopback
        sys.argv = ["azmlinfsrv", *command["argv"], "--port", str(port)]
        try:
            amlserver.run()
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        return 0


def main() -> None:
    # Events get their own descriptor; anything printed on stdout while importing goes to the log.
    events_fd = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the emulator, which stops this
    started = time.perf_counter()
    preloaded = preload()
    seconds = time.perf_counter() - started
    log(f"preloaded {len(preloaded)} modules in {seconds:.2f} s with Python {sys.version.split()[0]}")
    ReadyProcess(events_fd).run(preloaded, seconds)


if __name__ == "__main__":
    main()
