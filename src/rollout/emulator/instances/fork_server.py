"""The fork server of deployment instances.

Importing mlflow, pandas, scikit-learn and xgboost takes seconds; loading a model after that takes
a fraction of one. This process imports them once, warms MLflow's caches and a registry client,
and then forks one child per instance, so that a new instance only loads its model.

Protocol with the pool (`rollout.emulator.instances.fork_client`), one JSON object per line:
- commands on stdin:
  `{"op": "spawn", "id": ..., "model_uri": ..., "env": {...}, "log_path": ..., "failure_path": ...,
  "label": ...}` and `{"op": "signal", "pid": ..., "signal": 15}`.
- events on stdout: `{"event": "ready"}` once preloaded; `{"event": "spawned", "id": ..., "pid": ...,
  "port": ..., "source": ...}` or `{"event": "spawn_failed", "id": ..., "reason": ...}`;
  `{"event": "exited", "pid": ..., "returncode": ...}` (negative: killed by that signal).
End of stdin means the pool is gone: every instance is stopped and the fork server exits.
Instances die with the fork server (Linux parent-death signal).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import os
import re
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from rollout.core.waiting import wait_until
from rollout.emulator.instances.orphans import die_with_parent

PRELOAD = (
    "numpy",
    "pandas",
    "sklearn",
    "sklearn.compose",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "xgboost",
    "cloudpickle",
    "skops.io",
    "mlflow",
    "mlflow.pyfunc",
    "mlflow.models",
    "mlflow.sklearn",
    "mlflow.xgboost",
    "mlflow.utils.proto_json_utils",
    "rollout.emulator.instances.server",
)
STOP_GRACE_SECONDS = 3.0
_MODEL_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_MODEL_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)/?$")

logger = logging.getLogger("rollout.emulator.zygote")  # the name its log lines have always shown


class ForkServer:
    def __init__(self, registry_uri: str, events_fd: int) -> None:
        self.registry_uri = registry_uri
        self.events_fd = events_fd
        self.children: set[int] = set()
        self.client: Any = None
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)

    # Start-up ----------------------------------------------------------------------------------

    def preload(self) -> None:
        started = time.perf_counter()
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception as exc:
                logger.info("Not preloaded: %s (%s)", name, exc)
        from mlflow import MlflowClient
        from mlflow.utils import requirements_utils

        requirements_utils._init_packages_to_modules_map()  # the slow part of every load_model
        self.client = MlflowClient(tracking_uri=self.registry_uri, registry_uri=self.registry_uri)
        try:
            self.client.search_registered_models(max_results=1)
        except Exception as exc:
            logger.warning("The model registry %s is not reachable yet: %s", self.registry_uri, exc)
        logger.info("Preloaded in %.2f s", time.perf_counter() - started)

    # Main loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)  # stop through end of stdin, like the pool does
        self.emit({"event": "ready"})
        pending = b""
        while True:
            readable, _, _ = select.select([0, self.wakeup_r], [], [])
            if self.wakeup_r in readable:
                self._drain_wakeup()
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
        op = command.get("op")
        if op == "spawn":
            self.spawn(command)
        elif op == "signal":
            pid = int(command["pid"])
            if pid in self.children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, int(command["signal"]))
        else:
            logger.warning("Unknown command %r", op)

    def emit(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        while data:
            written = os.write(self.events_fd, data)
            data = data[written:]

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            self.emit({"event": "exited", "pid": pid, "returncode": os.waitstatus_to_exitcode(status)})

    def _drain_wakeup(self) -> None:
        try:
            while os.read(self.wakeup_r, 4096):
                pass
        except BlockingIOError:
            pass

    def stop_all(self) -> None:
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

        def all_exited() -> bool:
            self.reap()
            return not self.children

        wait_until(all_exited, STOP_GRACE_SECONDS)
        for pid in list(self.children):
            _kill(pid, signal.SIGKILL)
        while self.children:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.children.discard(pid)

    # Spawning ----------------------------------------------------------------------------------

    def resolve(self, model_uri: str) -> str:
        """Where the model's files are: a local directory when the registry stores them locally."""
        from mlflow.utils.file_utils import local_file_uri_to_path

        match = _MODEL_VERSION_URI.match(model_uri)
        alias = _MODEL_ALIAS_URI.match(model_uri)
        if match:
            source = self.client.get_model_version_download_uri(match["name"], match["version"])
        elif alias:
            version = self.client.get_model_version_by_alias(alias["name"], alias["alias"]).version
            source = self.client.get_model_version_download_uri(alias["name"], version)
        else:
            source = model_uri
        return local_file_uri_to_path(source) if source.startswith("file:") else source

    def spawn(self, command: dict[str, Any]) -> None:
        request_id = command["id"]
        try:
            source = self.resolve(command["model_uri"])
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc)
            reason = f"model {command['model_uri']} could not be resolved in the registry: {message}"
            self.emit({"event": "spawn_failed", "id": request_id, "reason": reason})
            return
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            log_fd = os.open(command["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            self.emit({"event": "spawn_failed", "id": request_id, "reason": str(exc), "final": False})
            return
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(log_fd)
            sock.close()
            self.emit(
                {"event": "spawn_failed", "id": request_id, "reason": f"fork failed: {exc}", "final": False}
            )
            return
        if pid == 0:
            code = 70
            try:
                self._become_instance(command, source, sock, log_fd, parent)
            except BaseException:
                logging.getLogger("rollout.emulator.worker").exception("The instance failed to start")
            finally:
                os._exit(code)
        os.close(log_fd)
        port = sock.getsockname()[1]
        sock.close()
        self.children.add(pid)
        self.emit({"event": "spawned", "id": request_id, "pid": pid, "port": port, "source": source})

    def _become_instance(
        self, command: dict[str, Any], source: str, sock: socket.socket, log_fd: int, parent: int
    ) -> None:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        os.close(self.wakeup_r)
        os.close(self.wakeup_w)
        os.setsid()
        die_with_parent(parent)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        if self.events_fd > 2:
            os.close(self.events_fd)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(line_buffering=True)
        os.environ.update(command.get("env") or {})
        from rollout.emulator.instances import server

        server.serve(sock, source, Path(command["failure_path"]), command.get("label", ""))


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rollout.emulator.instances.fork_server")
    parser.add_argument("--registry-uri", required=True)
    args = parser.parse_args(argv)
    # Events get their own descriptor; anything printed on stdout while importing goes to the log.
    events_fd = os.dup(1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the emulator, which stops the pool
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = ForkServer(args.registry_uri, events_fd)
    server.preload()
    server.run()


if __name__ == "__main__":
    main()
