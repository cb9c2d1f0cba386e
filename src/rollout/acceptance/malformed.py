"""Malformed scoring requests, derived from a project's request schema and one sample row.

Each case says what Azure ML's MLflow serving does with it. Some requests are always refused
(`refused`: a 4xx with a message): no `input_data`, a body that is not JSON, an oversized body, a
required column missing, text in a numeric column. Others depend on the model (`tolerated`: no 5xx;
a 4xx with a message, or a 200 whose reply still keeps the output contract): MLflow drops columns
the signature does not name, does not check enumerated values, and hands empty data to the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from rollout.project.schema import columns as schema_columns

EXTRA_COLUMN = "rollout_unexpected_column"
UNKNOWN_VALUE = "rollout-unknown-value"
OVERSIZED_BYTES = 16 * 1024 * 1024  # over the scoring data plane's request size limit
Expectation = Literal["refused", "tolerated"]


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    expect: Expectation
    rows: int = 1  # rows of the request, for a 200 reply's contract check


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


def _cell_types(cell: dict[str, Any]) -> set[str]:
    kind = cell.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def malformed_cases(schema: dict[str, Any], sample: dict[str, Any]) -> list[Case]:
    """The cases that apply to this schema (a column-less schema yields the schema-free ones)."""
    names = list(sample["input_data"]["columns"])
    row = list(sample["input_data"]["data"][0])
    frame = {"columns": names, "data": [row]}
    cases = [
        Case("no input_data", _body({"data": [row]}), "refused"),
        Case("not JSON", b'{"input_data": ', "refused"),
        Case("empty data", _body({"input_data": {"columns": names, "data": []}}), "tolerated", rows=0),
        Case(
            "extra column",
            _body({"input_data": {"columns": [*names, EXTRA_COLUMN], "data": [[*row, 0]]}}),
            "tolerated",
        ),
        Case("oversized body", _oversized(frame), "refused"),
    ]
    cells = dict(schema_columns(schema) or [])
    required = [n for n in names if n in cells and "null" not in _cell_types(cells[n])]
    if required:
        gone = names.index(required[-1])
        kept = [i for i in range(len(names)) if i != gone]
        cases.append(
            Case(
                f"missing column {required[-1]!r}",
                _body(
                    {"input_data": {"columns": [names[i] for i in kept], "data": [[row[i] for i in kept]]}}
                ),
                "refused",
            )
        )
    numeric = [n for n in names if _cell_types(cells.get(n, {})) & {"number", "integer"}]
    if numeric:
        cases.append(
            Case(
                f"text in numeric column {numeric[0]!r}",
                _replaced(frame, numeric[0], "not-a-number"),
                "refused",
            )
        )
    enumerated = [n for n in names if "enum" in cells.get(n, {})]
    if enumerated:
        cases.append(
            Case(
                f"unknown value of {enumerated[0]!r}",
                _replaced(frame, enumerated[0], UNKNOWN_VALUE),
                "tolerated",
            )
        )
    return cases


def _replaced(frame: dict[str, Any], column: str, value: object) -> bytes:
    row = list(frame["data"][0])
    row[frame["columns"].index(column)] = value
    return _body({"input_data": {"columns": frame["columns"], "data": [row]}})


def _oversized(frame: dict[str, Any]) -> bytes:
    row = json.dumps(frame["data"][0])
    count = OVERSIZED_BYTES // (len(row) + 2) + 1
    columns = json.dumps(frame["columns"])
    return f'{{"input_data": {{"columns": {columns}, "data": [{", ".join([row] * count)}]}}}}'.encode()
