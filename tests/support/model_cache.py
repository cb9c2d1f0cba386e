"""MLflow model directories built once per test run and shared by every xdist worker.

Training and saving the demo classifier takes seconds; many labs register the same variants.
`ModelCache.get(key, build)` builds a directory the first time any worker asks for `key` (under a
file lock, in a folder all workers of the run share) and returns it to everyone after; a lab then
registers it in its own registry, which copies it.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FAULTY_MODEL_CODE = Path(__file__).parent / "models" / "faulty_model.py"


@dataclass(frozen=True)
class ModelCache:
    root: Path

    def get(self, key: str, build: Callable[[Path], None]) -> Path:
        """The model directory `key`, made by `build(path)` unless a worker made it already."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / key
        with open(self.root / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (path / "MLmodel").is_file():
                shutil.rmtree(path, ignore_errors=True)
                build(path)
        return path

    def demo(self, variant: int, seed: int = 0) -> Path:
        """The demo heart classifier, `variant` trained with `seed`."""
        from rollout.demo_model.training import save, train

        return self.get(f"demo-{variant}-{seed}", lambda path: save(train(variant, seed), path))

    def faulty(self, mode: str, delay_s: float = 0.3) -> Path:
        """The demo classifier (variant 1) wrapped to misbehave (a mode of models/faulty_model.py)."""
        import mlflow.pyfunc
        from mlflow.models import Model

        inner = self.demo(1)

        def build(path: Path) -> None:
            described = Model.load(inner / "MLmodel")
            mlflow.pyfunc.save_model(
                path,
                python_model=str(FAULTY_MODEL_CODE),
                artifacts={"inner": str(inner)},
                model_config={"mode": mode, "delay_s": delay_s},
                signature=described.signature,
                metadata=described.metadata,  # the categories: a faulty version validates as the real one
                pip_requirements=(inner / "requirements.txt").read_text().split(),  # the inner model's
            )

        return self.get(f"faulty-{mode}-{delay_s:g}", build)

    def missing(self, package: str) -> Path:
        """The demo classifier (variant 1) whose requirements leave out `package`, which it imports."""
        inner = self.demo(1)

        def build(path: Path) -> None:
            shutil.copytree(inner, path)
            for name in ("requirements.txt", "conda.yaml"):
                kept = [line for line in (path / name).read_text().splitlines() if package not in line]
                (path / name).write_text("\n".join(kept) + "\n")

        return self.get(f"missing-{package}", build)

    def register(self, registry_uri: str, artifacts_dir: Path, name: str, model_dir: Path) -> int:
        """Register a cached directory in a lab's registry; the new version."""
        from rollout import registry

        return registry.register_model(
            registry.client(registry_uri), name, model_dir, artifacts_dir=artifacts_dir
        )
