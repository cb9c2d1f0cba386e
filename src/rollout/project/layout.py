"""Where a project keeps its files (paths relative to the project root).

- `deployments/release.yml`: the release plan, which names the endpoint spec and the slot files;
- `endpoints/<name>.yml`, `deployments/<slot>.yml`: `az ml` CLI v2 specs;
- `samples/*.json` and `samples/sample.schema.json`: requests and their JSON Schema;
- `samples/probe.json`: the probe set compared between candidate and live.

The acceptance suite is not a project file: it ships with rollout (`rollout.acceptance`).
"""

from __future__ import annotations

from pathlib import Path

PLAN_FILE = Path("deployments/release.yml")
SAMPLES_DIR = Path("samples")
SCHEMA_FILE = SAMPLES_DIR / "sample.schema.json"
PROBE_FILE = "probe.json"


def request_files(directory: Path) -> list[Path]:
    """The requests in a directory: `*.json` but the schema files."""
    return sorted(path for path in Path(directory).glob("*.json") if not path.name.endswith(".schema.json"))


def sample_files(root: Path) -> list[Path]:
    """The project's sample requests: `samples/*.json` but the schema files."""
    return request_files(Path(root) / SAMPLES_DIR)
