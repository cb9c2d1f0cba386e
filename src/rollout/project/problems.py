"""A problem in the project's files, located as `file: field: what is wrong`; reading files into problems."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

WHOLE_FILE = "(file)"
DOCUMENT_ROOT = "(root)"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong: the file (relative to the project root), the field, and what is wrong."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def display(path: Path, root: Path) -> str:
    """`path` as shown in problems: relative to the project root, with forward slashes."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def field_path(parts: Any) -> str:
    """A location as `a.b[0].c`; the document root as `(root)`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or DOCUMENT_ROOT


def merge(primary: list[Problem], secondary: list[Problem]) -> list[Problem]:
    """`primary`, then those of `secondary` about a field (or part of one) `primary` does not cover."""

    def covers(outer: str, inner: str) -> bool:
        return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))

    merged = list(primary)
    for problem in secondary:
        if not any(p.file == problem.file and covers(p.field, problem.field) for p in primary):
            merged.append(problem)
    return merged


def read_yaml_mapping(path: Path, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The YAML mapping in `path`, or the problems that prevent reading one."""
    if not path.is_file():
        return None, [Problem(file, WHOLE_FILE, "not found")]
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        reason = getattr(error, "problem", None) or str(error)
        return None, [Problem(file, WHOLE_FILE, f"not valid YAML: {reason}{where}")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(file, WHOLE_FILE, f"cannot be read: {error}")]
    if not isinstance(content, dict):
        kind = "empty" if content is None else f"a {type(content).__name__}, not a mapping"
        return None, [Problem(file, WHOLE_FILE, f"must be a YAML mapping of fields (it is {kind})")]
    return content, []


def read_json(path: Path, file: str) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except json.JSONDecodeError as error:
        return None, [
            Problem(
                file, WHOLE_FILE, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            )
        ]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(file, WHOLE_FILE, f"cannot be read: {error}")]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
