"""Malformed requests derived from a request schema: which cases apply, and what each body is."""

from __future__ import annotations

import json
from pathlib import Path

from rollout.acceptance.malformed import EXTRA_COLUMN, OVERSIZED_BYTES, UNKNOWN_VALUE, malformed_cases
from rollout.project.schema import columns as schema_columns
from rollout.project.schema import request_schema

REPO = Path(__file__).resolve().parents[3]


def _demo() -> tuple[dict, dict]:
    samples = REPO / "samples"
    return json.loads((samples / "sample.schema.json").read_text()), json.loads(
        (samples / "sample.json").read_text()
    )


def test_every_case_applies_to_the_demo_schema_and_is_derived_from_it() -> None:
    schema, sample = _demo()
    columns, row = sample["input_data"]["columns"], sample["input_data"]["data"][0]
    cases = {case.name: case for case in malformed_cases(schema, sample)}
    cells = dict(schema_columns(schema) or [])
    numeric = next(name for name in columns if cells[name].get("type") in ("integer", "number"))
    enumerated = next(name for name in columns if "enum" in cells[name])
    assert set(cases) == {
        "no input_data",
        "not JSON",
        "empty data",
        "extra column",
        "oversized body",
        f"missing column {columns[-1]!r}",
        f"text in numeric column {numeric!r}",
        f"unknown value of {enumerated!r}",
    }
    wrong = json.loads(cases[f"text in numeric column {numeric!r}"].body)["input_data"]
    assert wrong["data"][0][columns.index(numeric)] == "not-a-number"
    unknown = json.loads(cases[f"unknown value of {enumerated!r}"].body)["input_data"]
    assert unknown["data"][0][columns.index(enumerated)] == UNKNOWN_VALUE
    extra = json.loads(cases["extra column"].body)["input_data"]
    assert extra == {"columns": [*columns, EXTRA_COLUMN], "data": [[*row, 0]]}
    missing = json.loads(cases[f"missing column {columns[-1]!r}"].body)["input_data"]
    assert missing == {"columns": columns[:-1], "data": [row[:-1]]}
    oversized = cases["oversized body"].body
    assert len(oversized) > OVERSIZED_BYTES
    assert json.loads(oversized)["input_data"]["columns"] == columns
    assert {c.name: c.expect for c in cases.values()}["empty data"] == "tolerated"
    assert cases["empty data"].rows == 0


def test_a_schema_of_text_columns_only_has_no_numeric_or_enumerated_case() -> None:
    from mlflow.types import ColSpec, Schema

    schema = request_schema(Schema([ColSpec("string", "text"), ColSpec("string", "lang", required=False)]))
    sample = {"input_data": {"columns": ["text", "lang"], "data": [["hello", "en"]]}}
    names = [case.name for case in malformed_cases(schema, sample)]
    assert "missing column 'text'" in names  # the last required column, not the optional one
    assert not [name for name in names if name.startswith(("text in numeric", "unknown value"))]
