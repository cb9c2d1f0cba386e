"""The README stays the short page that leads into the site: at most 150 lines, `make demo` and
`make test` its first commands (CI runs "the README's test command"), and every relative link it
has pointing at a file of the repository (the site's own links are checked by `mkdocs build
--strict`, the README's are not)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()


def test_the_readme_is_short_and_starts_with_the_two_make_commands() -> None:
    assert len(README.splitlines()) <= 150
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_relative_link_of_the_readme_exists() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    relative = [target for target in targets if "://" not in target]
    assert "docs/index.md" in relative and "docs/tutorial.md" in relative
    assert [target for target in relative if not (ROOT / target).exists()] == []
    # every page of the site it names is in the site's navigation
    nav = (ROOT / "mkdocs.yml").read_text()
    assert [t for t in relative if t.startswith("docs/") and t.removeprefix("docs/") not in nav] == []
