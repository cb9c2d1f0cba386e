"""Built environments, kept and shared: by deployments, endpoints and emulator restarts.

An environment lives at `<root>/<key>`, the key a hash of its normalized requirement lines and of
the interpreter's version and platform (`cpython-3.11.7-linux-x86_64-gnu`): the same
requirements on the same Python are one environment, whoever asks. A key that is built is reused
as it is, without uv or the network. A build goes into a temporary directory beside it, under a
lock file per key (`fcntl.flock`: two processes building one key wait for each other, and the
second finds the first's), and is renamed into place whole once its manifest is written, so a
directory at `<root>/<key>` is always a complete environment. The manifest
(`rollout-environment.json`) records what was asked, what was resolved and how long it took; the
time of an environment's last use (its `rollout-last-used` file's modification time, touched by
every `build` that finds or builds it) orders `recent`, the environments an emulator warms first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollout.core import paths
from rollout.core.files import sync_directory
from rollout.emulator.environments import requirements
from rollout.emulator.environments.build import BuildOptions, build_into, counted, environment_python
from rollout.emulator.environments.interpreters import Choice, Interpreter, choose, discover
from rollout.emulator.environments.spec import EnvironmentSpec

MANIFEST_NAME = "rollout-environment.json"
LAST_USED_NAME = "rollout-last-used"  # its modification time: when a deployment last asked for it
FORMAT = 1  # of the cache's layout and manifest: a change makes every key new
_KEY_LENGTH = 24


@dataclass(frozen=True)
class BuiltEnvironment:
    """An environment ready to run: its directory, its Python, the packages it holds."""

    path: Path
    python: Path
    resolved: list[str]  # `package==version`, every package installed
    key: str
    warnings: list[str]  # what differs from Azure's build of it
    cached: bool = False  # found built, nothing installed


def environment_key(lines: Sequence[str], interpreter: Interpreter) -> str:
    """The cache key of `lines` built with `interpreter`: order, spelling and repeats of the lines
    do not matter; the interpreter's version and platform do."""
    content = {
        "format": FORMAT,
        "requirements": requirements.normalized_set(lines),
        "python": interpreter.identity,
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return digest[:_KEY_LENGTH]


class EnvironmentCache:
    """The environments under `root` (default: `rollout.core.paths.environments_dir()`), built with
    one of `interpreters` (default: those uv finds on this machine)."""

    def __init__(
        self, root: Path | None = None, *, interpreters: Sequence[Interpreter] | None = None
    ) -> None:
        self.root = (root or paths.environments_dir()).absolute()  # uv runs in the root, on paths in it
        self._interpreters = tuple(interpreters) if interpreters is not None else None

    def interpreters(self) -> tuple[Interpreter, ...]:
        if self._interpreters is None:
            self._interpreters = discover()
        return self._interpreters

    def interpreter_for(self, spec: EnvironmentSpec) -> Choice:
        return choose(spec.python, self.interpreters())

    def key_for(self, spec: EnvironmentSpec) -> str:
        return environment_key(spec.requirements, self.interpreter_for(spec).interpreter)

    def build(self, spec: EnvironmentSpec, options: BuildOptions | None = None) -> BuiltEnvironment:
        """The environment of `spec`: the cached one, or built now (`EnvironmentBuildFailed` if it
        cannot be)."""
        options = options or BuildOptions()
        choice = self.interpreter_for(spec)
        key = environment_key(spec.requirements, choice.interpreter)
        warnings = [*spec.warnings, *([choice.warning] if choice.warning else [])]
        found = self.find(key, warnings)
        if found is None:
            self.root.mkdir(parents=True, exist_ok=True)
            with self._locked(key):
                found = self.find(key, warnings)
                if found is None:
                    built = self._build(key, spec, choice.interpreter, options, warnings)
                    self.record_use(key)
                    return built
        self.record_use(key)
        options.progress(f"environment {key}: cached ({counted(len(found.resolved), 'package')})")
        return found

    def find(self, key: str, warnings: Sequence[str] = ()) -> BuiltEnvironment | None:
        """The built environment `key`, if there is one."""
        path = self.root / key
        try:
            manifest = json.loads((path / MANIFEST_NAME).read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("format") != FORMAT or manifest.get("key") != key:
            return None
        resolved = [str(line) for line in manifest.get("resolved", [])]
        python = environment_python(path)
        return BuiltEnvironment(path, python, resolved, key, list(warnings), cached=True)

    def record_use(self, key: str) -> None:
        """Note that a deployment uses environment `key` now (nothing if it is not built, or the
        cache is read-only)."""
        with contextlib.suppress(OSError):
            if (self.root / key / MANIFEST_NAME).is_file():
                (self.root / key / LAST_USED_NAME).touch()

    def recent(self, limit: int) -> list[BuiltEnvironment]:
        """The built environments, most recently used first, at most `limit` of them (one never
        recorded as used counts from when it was built)."""
        if limit <= 0 or not self.root.is_dir():
            return []
        dated: list[tuple[float, str]] = []
        for path in self.root.iterdir():
            if path.name.startswith("."):  # builds in progress, lock files
                continue
            for name in (LAST_USED_NAME, MANIFEST_NAME):
                with contextlib.suppress(OSError):
                    dated.append(((path / name).stat().st_mtime, path.name))
                    break
        found = []
        for _, key in sorted(dated, reverse=True):
            environment = self.find(key)
            if environment is not None:
                found.append(environment)
                if len(found) == limit:
                    break
        return found

    def _build(
        self,
        key: str,
        spec: EnvironmentSpec,
        interpreter: Interpreter,
        options: BuildOptions,
        warnings: list[str],
    ) -> BuiltEnvironment:
        final = self.root / key
        for leftover in [final, *self.root.glob(f".build-{key}-*")]:  # a crashed build's, or corrupt
            shutil.rmtree(leftover, ignore_errors=True)
        options.progress(f"environment {key}: building from {spec.source or 'the given requirements'}")
        staging = self.root / f".build-{key}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            built = build_into(staging, spec, interpreter, options)
            manifest = {
                "format": FORMAT,
                "key": key,
                "python": interpreter.version_text,
                "interpreter": interpreter.identity,
                "base_executable": str(interpreter.path),
                "kind": str(spec.kind),
                "source": spec.source,
                "requirements": list(spec.requirements),
                "resolved": built.resolved,
                "warnings": warnings,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(built.seconds, 3),
                "offline": built.offline,
            }
            (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
            staging.rename(final)
            sync_directory(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return BuiltEnvironment(final, environment_python(final), built.resolved, key, warnings)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with open(self.root / f".{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
