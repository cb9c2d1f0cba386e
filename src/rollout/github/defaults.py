"""Where a repository keeps the files `rollout github configure` reads, and the API it talks to
unless told otherwise: cheap to import, for the command line's defaults."""

from __future__ import annotations

from pathlib import Path

ENVIRONMENTS_FILE = Path(".github/environments.yml")
CODEOWNERS_FILE = Path(".github/CODEOWNERS")
API_URL = "https://api.github.com"
