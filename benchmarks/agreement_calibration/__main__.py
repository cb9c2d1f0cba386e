"""`python -m benchmarks.agreement_calibration [--check]`: run the calibration study and write its
table to docs/agreement-calibration.md (`--check`: fail when the file is not up to date)."""

from __future__ import annotations

import sys

from benchmarks.agreement_calibration import DOC, study_markdown


def main(argv: list[str]) -> int:
    text = study_markdown()
    if "--check" in argv:
        if DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: python -m benchmarks.agreement_calibration", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
