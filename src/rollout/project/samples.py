"""The sample requests in `samples/`: smoke checks, probe load and the agreement probe set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rollout.core.errors import UserError
from rollout.project.layout import PROBE_FILE, request_files


@dataclass(frozen=True)
class SampleSet:
    requests: dict[str, dict]  # file name -> request body

    @classmethod
    def load(cls, directory: Path) -> SampleSet:
        files = request_files(directory)
        if not files:
            raise UserError(f"{directory}: no sample requests (*.json)")
        requests = {}
        for path in files:
            try:
                requests[path.name] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: not a JSON request: {exc}") from exc
        return cls(requests)

    def probe_request(self) -> dict | None:
        """The probe set compared between candidate and live, when there is one."""
        return self.requests.get(PROBE_FILE)

    def single_rows(self) -> list[dict]:
        """Every row of every sample as a request of its own."""
        rows = []
        for request in self.requests.values():
            data = request.get("input_data", {})
            for row in data.get("data", []):
                rows.append({"input_data": {"columns": data["columns"], "data": [row]}})
        return rows
