"""Print line and branch coverage of src/rollout apart, from the combined data of `make coverage`.

`coverage report` gives one percentage of statements and branches together; the suite's goal
states both (line and branch), so this prints each with its counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "coverage.json"
        subprocess.run([sys.executable, "-m", "coverage", "json", "--quiet", "-o", str(report)], check=True)
        totals = json.loads(report.read_text())["totals"]
    lines, covered_lines = totals["num_statements"], totals["covered_lines"]
    branches, covered_branches = totals["num_branches"], totals["covered_branches"]
    print(
        f"line {100 * covered_lines / lines:.1f}% ({covered_lines:,} of {lines:,}), "
        f"branch {100 * covered_branches / branches:.1f}% ({covered_branches:,} of {branches:,})"
    )


if __name__ == "__main__":
    main()
