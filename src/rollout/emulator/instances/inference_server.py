"""Azure's inference server (`azmlinfsrv`, PyPI `azureml-inference-server-http`) run in a
deployment's built environment, as Azure runs it in a deployment's container.

`start(ServerLaunch(...))` starts the server of the environment on a scoring script and returns a
`RunningServer`: `wait_ready()` until `GET /` answers 200 (the server's liveness route, served
once the script's `init()` has returned), `url`, `stop()`. What the server serves is a
`ScoringScript`: for a no-code MLflow deployment, `ScoringScript.mlflow_model(model_dir)` (the
project's script following Azure's, in `scoring_scripts/`); for a code deployment,
`ScoringScript.code(code_dir, "score.py")` (the user's script, its folder the app root).

The server runs as Azure's images run it: `azmlinfsrv --entry_script SCRIPT --port PORT` with the
variables it reads (`AZUREML_MODEL_DIR`, `AML_APP_ROOT`, `AZUREML_ENTRY_SCRIPT`, `WORKER_COUNT`,
and any the deployment sets), in the environment's own Python with nothing of rollout's
(`isolated_environ`, and none of the server's variables inherited), in a working directory that
holds only its log and gunicorn's control socket (Python and gunicorn put the working directory on
`sys.path`), in a session of its own. One difference: the `azmlinfsrv` command binds every
interface (0.0.0.0, no option changes it), so the server's own entry (`amlserver.run`, what the
command calls) is run with its host set to loopback.

The emulator's instances are forked from their environment's ready process
(`instance_forkserver`), which runs the same entry with the same arguments (`ServerLaunch.arguments`)
and variables (`ServerLaunch.environ`) on a socket it binds; `start` runs the server from nothing,
as a process of its own (what `benchmarks/azmlinfsrv_start.py` times).
"""

from __future__ import annotations

import contextlib
import http.client
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from rollout.core.waiting import wait_until
from rollout.emulator.environments import BuiltEnvironment, isolated_environ
from rollout.emulator.instances import logs

HOST = "127.0.0.1"
SCORING_SCRIPTS = Path(__file__).resolve().parent / "scoring_scripts"
MLFLOW_SCORING_SCRIPT = SCORING_SCRIPTS / "mlflow_score.py"
LOG_NAME = "azmlinfsrv.log"
LOG_TAIL_LINES = 40
STOP_GRACE_S = 10.0
_PROBE_TIMEOUT_S = 1.0

# What Azure's server (or gunicorn under it) reads from its environment: set here or by the
# deployment, never inherited from rollout's own process.
SERVER_VARIABLE_PREFIXES = ("AZUREML_", "AML_", "WORKER_", "SERVICE_", "GUNICORN_")
SERVER_VARIABLES = frozenset(
    {
        "MLFLOW_MODEL_FOLDER",
        "SERVER_PORT",
        "HEALTH_PORT",
        "SEPERATE_HEALTH_ENDPOINT",  # sic: the server's spelling
        "SCORING_TIMEOUT_MS",
        "WORKSPACE_NAME",
        "TRANSPORT_PROTOCOL",
        "HTTP_X_MS_SERVER_VERSION",
        "SERVER_VERSION_LOG_RESPONSE_ENABLED",
        "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
    }
)

# `azmlinfsrv` (its console script calls amlserver.run) with the host it binds taken from argv[1]
_BOOTSTRAP = (
    "import sys\n"
    "from azureml_inference_server_http import amlserver\n"
    "amlserver.DEFAULT_HOST = sys.argv.pop(1)\n"
    "sys.argv[0] = 'azmlinfsrv'\n"
    "sys.exit(amlserver.run())\n"
)


class ServerStartFailed(Exception):
    """The server exited, or did not answer, before it was ready; the message ends with its log."""


@dataclass(frozen=True)
class ScoringScript:
    """What the server serves: its entry script, the app root (`AML_APP_ROOT`, put on `sys.path`),
    the model directory (`AZUREML_MODEL_DIR`) and the deployment's own variables."""

    entry_script: Path
    app_root: Path
    model_dir: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def mlflow_model(cls, model_dir: Path, variables: Mapping[str, str] | None = None) -> ScoringScript:
        """A no-code MLflow deployment of the model in (or under) `model_dir`: the project's
        script, in its own folder as Azure's MLflow images keep theirs (`/var/mlflow_resources`)."""
        return cls(MLFLOW_SCORING_SCRIPT, SCORING_SCRIPTS, Path(model_dir).absolute(), dict(variables or {}))

    @classmethod
    def code(
        cls,
        code_dir: Path,
        scoring_script: str,
        *,
        model_dir: Path | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> ScoringScript:
        """A code deployment: `scoring_script` (relative to `code_dir`), with `code_dir` the app root."""
        root = Path(code_dir).absolute()
        model = Path(model_dir).absolute() if model_dir else None
        return cls(root / scoring_script, root, model, dict(variables or {}))


@dataclass(frozen=True)
class ServerLaunch:
    """A server to start: `environment`'s Python and server on `scoring`, listening on `port` (0 when
    the ready process binds the socket),
    working (and logging, to `log_file`) in `run_dir`, with `workers` gunicorn workers
    (`WORKER_COUNT`, unless the scoring script's variables set it)."""

    environment: BuiltEnvironment
    scoring: ScoringScript
    run_dir: Path
    port: int
    workers: int = 1
    host: str = HOST

    @property
    def log_file(self) -> Path:
        return self.run_dir / LOG_NAME

    @property
    def runtime_dir(self) -> Path:
        """The server's `XDG_RUNTIME_DIR`: gunicorn (25.1 and later) puts its control socket there;
        without it, every server's would be `~/.gunicorn/gunicorn.ctl`."""
        return self.run_dir / "runtime"

    def arguments(self) -> list[str]:
        """azmlinfsrv's arguments but `--port`: `--entry_script SCRIPT`."""
        return ["--entry_script", str(self.scoring.entry_script)]

    def command(self) -> list[str]:
        """`azmlinfsrv --entry_script SCRIPT --port PORT`, bound to `host`."""
        bootstrap = [str(self.environment.python), "-c", _BOOTSTRAP, self.host]
        return [*bootstrap, *self.arguments(), "--port", str(self.port)]

    def environ(self) -> dict[str, str]:
        """The server's environment: this process's without what would leak rollout's packages or
        the server's settings into it, then Azure's variables, then the deployment's."""
        environ = server_free_environ()
        environ.update(
            AML_APP_ROOT=str(self.scoring.app_root),
            AZUREML_ENTRY_SCRIPT=str(self.scoring.entry_script),
            WORKER_COUNT=str(self.workers),
            PYTHONUNBUFFERED="1",
            XDG_RUNTIME_DIR=str(self.runtime_dir),
        )
        if self.scoring.model_dir is not None:
            environ["AZUREML_MODEL_DIR"] = str(self.scoring.model_dir)
        environ.update(self.scoring.variables)
        return environ


def server_free_environ() -> dict[str, str]:
    """This process's environment without what would leak rollout's packages or the server's
    settings into a server (or its ready process)."""
    return {
        name: value
        for name, value in isolated_environ().items()
        if name not in SERVER_VARIABLES and not name.startswith(SERVER_VARIABLE_PREFIXES)
    }


def bytecode_kept(environ: dict[str, str]) -> dict[str, str]:
    """`environ` without PYTHONDONTWRITEBYTECODE: a ready process writes the bytecode of what it
    imports into its environment (uv installs none), so the next one, in any later emulator, loads
    MLflow, pandas, scikit-learn ... from it instead of compiling them again (2.5x faster here)."""
    return {name: value for name, value in environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


class RunningServer:
    """A started server: its process (the gunicorn master, in a session of its own), its URL."""

    def __init__(self, launch: ServerLaunch, process: subprocess.Popen[bytes], started: float) -> None:
        self.launch = launch
        self.process = process
        self.started = started  # time.monotonic() at start
        self.url = f"http://{launch.host}:{launch.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return logs.tails([self.launch.log_file], lines)

    def wait_ready(self, timeout: float) -> float:
        """Wait until `GET /` answers 200; the seconds from start to ready. `ServerStartFailed` (with
        the log's tail) if the server exits first, or is not ready in `timeout` seconds (then it is
        stopped)."""
        ready = wait_until(lambda: not self.alive() or self.answers(), timeout, interval=0.1)
        if not self.alive():
            code = self.process.returncode
            raise ServerStartFailed(
                f"azmlinfsrv exited with code {code} before it was ready; its log ends:\n{self.log_tail()}"
            )
        if not ready:
            self.stop()
            raise ServerStartFailed(
                f"azmlinfsrv was not ready within {timeout:g} s (stopped); its log ends:\n{self.log_tail()}"
            )
        return time.monotonic() - self.started

    def answers(self) -> bool:
        """Whether `GET /` (the liveness route) answers 200 now."""
        connection = http.client.HTTPConnection(self.launch.host, self.launch.port, timeout=_PROBE_TIMEOUT_S)
        try:
            connection.request("GET", "/")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self, grace: float = STOP_GRACE_S) -> int:
        """SIGTERM the master (gunicorn stops its workers), SIGKILL it after `grace` seconds, then any
        worker left; the master's exit code."""
        workers = self._workers()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            if not wait_until(lambda: not self.alive(), grace):
                self.process.kill()
        self.process.wait()
        _, left = psutil.wait_procs(workers, timeout=1.0)
        for worker in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()
        psutil.wait_procs(left, timeout=5.0)
        return self.process.returncode

    def _workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


def start(launch: ServerLaunch) -> RunningServer:
    """Start the server `launch` describes (not waiting for it: see `RunningServer.wait_ready`)."""
    launch.runtime_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(launch.log_file, "ab") as log:
        process = subprocess.Popen(
            launch.command(),
            cwd=launch.run_dir,
            env=launch.environ(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunningServer(launch, process, started)
