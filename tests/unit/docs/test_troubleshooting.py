"""The troubleshooting page documents every kind of `error:` line: each error class of rollout
(UserError and its subclasses, found in the source) under a heading of its name, each package that
raises plain UserError in the areas table, and each Azure error code the emulator answers with."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "src" / "rollout"
PAGE = (ROOT / "docs" / "troubleshooting.md").read_text()


def _classes() -> list[tuple[Path, ast.ClassDef]]:
    return [
        (path, node)
        for path in sorted(SOURCE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    ]


def _base_names(node: ast.ClassDef) -> set[str]:
    return {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases}


def user_error_classes() -> set[str]:
    """UserError and every class that derives from it, however indirectly."""
    found, classes = {"UserError"}, _classes()
    while True:
        more = {node.name for _, node in classes if _base_names(node) & found} - found
        if not more:
            return found
        found |= more


def azure_error_codes() -> set[str]:
    """The `code` of every error class of the emulator."""
    codes = {"InternalServerError"}
    for node in ast.walk(ast.parse((SOURCE / "emulator" / "errors.py").read_text())):
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["code"]:
            codes.add(ast.literal_eval(node.value))
    return codes


def packages_raising_user_error() -> set[str]:
    """`rollout.<package>` of every module (outside the emulator) that raises plain UserError."""
    return {
        f"rollout.{path.relative_to(SOURCE).parts[0]}"
        for path in SOURCE.rglob("*.py")
        if "emulator" not in path.parts and len(path.relative_to(SOURCE).parts) > 1
        if re.search(r"\bUserError\(", path.read_text())
    } - {"rollout.core"}


def test_every_error_class_has_a_section() -> None:
    classes = user_error_classes()
    assert {"UserError", "LeaseHeld", "SmokeFailed"} <= classes  # the search finds them
    headings = set(re.findall(r"^### `(\w+)`$", PAGE, flags=re.MULTILINE))
    assert classes - headings == set(), "error classes without a section in docs/troubleshooting.md"
    assert headings - classes == set(), "sections of docs/troubleshooting.md for classes that are gone"


def test_every_package_that_raises_user_error_is_in_the_areas_table() -> None:
    packages = packages_raising_user_error()
    assert {"rollout.project", "rollout.release", "rollout.github"} <= packages
    areas = set(re.findall(r"`(rollout\.\w+)`", PAGE.split("### `SmokeFailed`")[0]))
    assert packages - areas == set(), "packages raising UserError missing from the table of UserError lines"


def test_every_azure_error_code_is_in_the_codes_table() -> None:
    codes = azure_error_codes()
    assert {"AuthorizationFailed", "LeaseAlreadyPresent", "ModelError"} <= codes
    rows = set(re.findall(r"^\| `(\w+)` \| \d{3} \|", PAGE, flags=re.MULTILINE))
    assert codes - rows == set(), "Azure error codes missing from the codes table of docs/troubleshooting.md"
