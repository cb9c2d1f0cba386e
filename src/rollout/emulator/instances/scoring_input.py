"""A scoring request body, checked and turned into the frame a pyfunc model predicts on.

Pure functions, no HTTP: `parse(body, spec)` returns a `ScoringInput` or raises `BadRequest` with
the reason. The body is the MLflow no-code contract, `{"input_data": {"columns": [...], "index":
[...], "data": [[...], ...]}, "params": {...}}` (pandas split orientation; `columns`, `index` and
`params` optional).

Checked here, before pandas: nesting too deep for the JSON parser, the shape of `input_data`, an
`index` whose length is not the number of rows, rows of the wrong length, duplicate column names.
Columns the signature does not name are dropped (MLflow ignores them), so thousands of unknown
columns cost no frame of that width. The frame is then cast to the signature's types, safely:
integer columns take whole numbers within the type's range, written as integers or as floats such
as 48.0 (Azure's scoring script casts those too), but no boolean, fraction, NaN, infinity, text or
null (MLflow's `_enforce_schema` refuses those as unsafe casts, Azure would truncate them); float
columns take numbers and null (NaN), not booleans or text; boolean columns take booleans. Other
types (string, binary, datetime, arrays, objects) are cast by MLflow's own scoring helper, and the
model's `predict` then enforces the signature once more.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rollout.emulator.errors import BadRequest

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SPLIT_ORIENTATION = (
    "'input_data' must be an object in pandas split orientation: "
    '{"columns": [...] (optional), "index": [...] (optional), "data": [[...], ...]}.'
)
SAFE_CAST_TYPES = frozenset({"boolean", "integer", "long", "float", "double"})


@dataclass(frozen=True)
class InputSpec:
    """What a model's signature says about its input, computed once when the model loads.

    `columns`: the signature's column names; None without named columns (no signature, or a
    tensor signature), when the frame is passed on whole. `dtypes`: the numpy type of each
    boolean, integer and float column, cast here safely. `other`: the rest of the signature (an
    MLflow `Schema`), cast by MLflow's helper; None when nothing is left.
    """

    columns: frozenset[str] | None = None
    dtypes: Mapping[str, np.dtype[Any]] = field(default_factory=dict)
    other: Any = None

    @classmethod
    def from_schema(cls, schema: Any) -> InputSpec:
        """The spec of an MLflow input `Schema` (or None)."""
        if schema is None:
            return cls()
        if not schema.has_input_names() or schema.is_tensor_spec():
            return cls(other=schema)
        from mlflow.types import DataType, Schema

        dtypes, rest = {}, []
        for spec in schema.inputs:
            if isinstance(spec.type, DataType) and spec.type.name in SAFE_CAST_TYPES:
                dtypes[spec.name] = spec.type.to_numpy()
            else:
                rest.append(spec)
        return cls(frozenset(schema.input_names()), dtypes, Schema(rest) if rest else None)


@dataclass(frozen=True)
class ScoringInput:
    """A parsed request: the frame, the `params` (if any) and the columns dropped as unknown."""

    frame: pd.DataFrame
    params: dict[str, Any] | None
    ignored_columns: tuple[str, ...] = ()


def parse(body: bytes, spec: InputSpec) -> ScoringInput:
    """The frame and params of a scoring request body; raises BadRequest with the reason."""
    payload = _load_json(body)
    if not isinstance(payload, dict) or "input_data" not in payload:
        raise BadRequest("The request body must be a JSON object with an 'input_data' field.")
    input_data, params = payload["input_data"], payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise BadRequest("'params' must be a JSON object.")
    if (
        not isinstance(input_data, dict)
        or "data" not in input_data
        or set(input_data) - {"columns", "index", "data"}
    ):
        raise BadRequest(SPLIT_ORIENTATION)
    columns, index, rows = input_data.get("columns"), input_data.get("index"), input_data["data"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest("'data' must be a list of rows, each a list of values.")
    if index is not None:
        if not isinstance(index, list) or not all(_is_scalar(label) for label in index):
            raise BadRequest("'index' must be a list of labels (strings or numbers).")
        if len(index) != len(rows):
            raise BadRequest(
                f"'index' has {len(index)} labels for {len(rows)} rows of 'data'; give one per row."
            )
    ignored: tuple[str, ...] = ()
    if columns is not None:
        columns = _column_names(columns)
        width = len(columns)
        if not all(len(row) == width for row in rows):
            number, row = next((n, row) for n, row in enumerate(rows) if len(row) != width)
            raise BadRequest(f"Row {number} of 'data' has {len(row)} values for {width} columns.")
        if spec.columns is not None:
            columns, rows, ignored = _drop_unknown(columns, rows, spec.columns)
    elif rows and len({len(row) for row in rows}) > 1:
        raise BadRequest("The rows of 'data' have different lengths.")
    frame = _frame(rows, columns, index)
    return ScoringInput(_cast(frame, spec), params, ignored)


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        raise BadRequest("The request body is nested too deeply to be parsed.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str) or _is_number(value)


def _column_names(columns: object) -> list[str | int]:
    if not isinstance(columns, list) or not all(
        isinstance(name, str) or (isinstance(name, int) and not isinstance(name, bool)) for name in columns
    ):
        raise BadRequest("'columns' must be a list of column names (strings or integers).")
    if len(set(columns)) != len(columns):
        duplicates = [str(name) for name, count in Counter(columns).items() if count > 1]
        raise BadRequest(f"'columns' names a column more than once: {duplicates[:10]}.")
    return columns


def _drop_unknown(
    columns: list[str | int], rows: list[list[Any]], known: frozenset[str]
) -> tuple[list[str | int], list[list[Any]], tuple[str, ...]]:
    """The columns the signature names, with their values; and the names of the others."""
    keep = [position for position, name in enumerate(columns) if name in known]
    if len(keep) == len(columns):
        return columns, rows, ()
    ignored = tuple(str(name) for name in columns if name not in known)
    return [columns[p] for p in keep], [[row[p] for p in keep] for row in rows], ignored


def _frame(rows: list[list[Any]], columns: list[str | int] | None, index: list[Any] | None) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.DataFrame(data=rows, columns=columns, index=index)
    except Exception as exc:  # pandas' own refusal of a shape it cannot build
        raise BadRequest(f"'input_data' is not a valid frame in split orientation: {exc}") from None


def _cast(frame: pd.DataFrame, spec: InputSpec) -> pd.DataFrame:
    """The frame with its columns cast to the signature's types; BadRequest for an unsafe cast."""
    if spec.dtypes:
        columns = dict(frame.items())
        present = [name for name in spec.dtypes if name in columns]
        if present and len(frame) == 0:
            raise BadRequest("'data' has no rows to score.")
        if present:  # one new frame: assigning the columns one by one costs more than the cast
            for name in present:
                columns[name] = _safe_cast(name, columns[name], spec.dtypes[name])
            frame = _new_frame(columns, frame.index)
    if spec.other is not None:
        from mlflow.utils.proto_json_utils import cast_df_types_according_to_schema

        try:
            frame = cast_df_types_according_to_schema(frame, spec.other)
        except Exception as exc:
            raise BadRequest(getattr(exc, "message", None) or str(exc)) from None
    return frame


def _new_frame(columns: dict[Any, pd.Series], index: pd.Index) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns, index=index, copy=False)


def _safe_cast(name: object, column: pd.Series, target: np.dtype[Any]) -> pd.Series:
    """The column as `target` when no value changes on the way, else BadRequest."""
    import numpy as np

    kind = column.dtype.kind
    problem: str | None = None
    if target.kind == "b":
        problem = None if kind == "b" else _describe(kind)
    elif target.kind == "i":
        limits = np.iinfo(target)
        if kind == "f":
            # Whole numbers written as floats (48.0) keep their value; fractions, NaN and
            # infinities do not. The bounds are exact in float64: [-2**(n-1), 2**(n-1)).
            if not (column % 1 == 0).all():
                problem = _describe(kind)
            elif not ((column >= limits.min) & (column < -float(limits.min))).all():
                problem = f"integers outside {target}'s range"
        elif kind != "i":
            problem = _describe(kind)
        elif target.itemsize < column.dtype.itemsize and not column.between(limits.min, limits.max).all():
            problem = f"integers outside {target}'s range"
    elif not (kind in "iuf" or (kind == "O" and all(value is None or _is_number(value) for value in column))):
        problem = _describe(kind)
    if problem is not None:
        raise BadRequest(
            f"The input does not fit the model signature: column {name!r} takes {target} values; "
            f"it has {problem}, which cannot be cast safely."
        )
    return column.astype(target)


def _describe(kind: str) -> str:
    """What a column of this numpy kind holds, as the JSON had it."""
    return {
        "b": "booleans",
        "i": "integers",
        "u": "integers",
        "f": "fractions, NaN, infinities or nulls among numbers",
    }.get(kind, "text, nulls, integers beyond 64 bits or mixed values")
