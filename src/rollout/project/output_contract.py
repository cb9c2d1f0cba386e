"""The output contract of a model: what each prediction in a reply must be, and when two agree.

A reply to a scoring request is a JSON list with one prediction per row. The plan's `output`
section (or, without it, the model's output signature) says what a prediction is:

- `labels`: a class label (a number, string or boolean), from `labels` when the plan lists them;
  two predictions agree when they are equal;
- `numbers`: a finite number, within `min`..`max` when given; two agree when they are within
  `tolerance` (`absolute` or `relative` to the larger magnitude, as `math.isclose` has it);
- `probabilities`: a vector of class probabilities (a list, or an object keyed by class), each in
  0..1, summing to 1, of `classes` entries when given; two agree when their arg-max is the same.

The acceptance suite checks replies with `reply_problems` and the canary analysis counts agreement
with `agreeing_rows`; both read the same contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

if TYPE_CHECKING:
    from mlflow.models import Model

Kind = Literal["labels", "numbers", "probabilities"]
Label = StrictBool | StrictInt | StrictStr
PROBABILITY_SLACK = 1e-3  # float32 probabilities sum to 1 only within rounding
MAX_PROBLEMS = 5  # a reply's problems listed before the rest are counted


class Tolerance(BaseModel):
    """How far apart two numeric predictions may be and still agree."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    absolute: Annotated[float, Field(ge=0)] = 0.0
    relative: Annotated[float, Field(ge=0, lt=1)] = 0.0

    def describe(self) -> str:
        """`0.52`, `5.00%` or `0.52 or 5.00%`: the parts that are set."""
        parts = [f"{self.absolute:.4g}"] if self.absolute else []
        parts += [f"{self.relative:.2%}"] if self.relative or not parts else []
        return " or ".join(parts)


DEFAULT_TOLERANCE = Tolerance(absolute=0.0, relative=0.05)


class OutputContract(BaseModel):
    """The plan's `output` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Kind
    labels: Annotated[list[Label], Field(min_length=1)] | None = None
    min: float | None = None
    max: float | None = None
    classes: Annotated[StrictInt, Field(ge=2)] | None = None
    tolerance: Tolerance | None = None

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> OutputContract:
        allowed = {"labels": {"labels"}, "numbers": {"min", "max", "tolerance"}, "probabilities": {"classes"}}
        stray = [
            name
            for name in ("labels", "min", "max", "classes", "tolerance")
            if getattr(self, name) is not None
        ]
        stray = [name for name in stray if name not in allowed[self.kind]]
        if stray:
            raise ValueError(f"{', '.join(stray)} does not apply to kind {self.kind}")
        if self.labels is not None and len({repr(label) for label in self.labels}) != len(self.labels):
            raise ValueError("labels must not repeat")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    @property
    def agreement_tolerance(self) -> Tolerance:
        return self.tolerance or DEFAULT_TOLERANCE

    def describe(self) -> str:
        """One line: what a prediction is and how agreement is counted."""
        if self.kind == "labels":
            values = f" in {self.labels}" if self.labels else ""
            return f"a class label{values}; agreement: equal labels"
        if self.kind == "numbers":
            bounds = (
                f" in [{_bound(self.min)}, {_bound(self.max)}]"
                if (self.min, self.max) != (None, None)
                else ""
            )
            return f"a number{bounds}; agreement: within {self.agreement_tolerance.describe()}"
        width = f" of {self.classes}" if self.classes else ""
        return f"a probability vector{width}; agreement: equal arg-max"


EXACT = OutputContract(kind="labels")  # nothing known: any scalar, agreement is equality


def _bound(value: float | None) -> str:
    return "..." if value is None else f"{value:g}"


# --- checking replies -------------------------------------------------------------------------


def scalar_value(value: Any) -> Any:
    """A one-column record (`{"prediction": 3}`) or a one-element list as its value."""
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _vector(value: Any) -> list[float] | None:
    """A probability vector as a list of numbers (an object keyed by class in key order), else None."""
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list) or not items or not all(_is_number(item) for item in items):
        return None
    return [float(item) for item in items]


def prediction_problem(prediction: Any, contract: OutputContract) -> str | None:
    """Why a prediction breaks the contract, or None when it conforms."""
    if contract.kind == "probabilities":
        vector = _vector(prediction)
        if vector is None:
            return f"{_shown(prediction)} is not a vector of probabilities"
        if contract.classes is not None and len(vector) != contract.classes:
            return f"{_shown(prediction)} has {len(vector)} probabilities, not {contract.classes}"
        if any(p < -PROBABILITY_SLACK or p > 1 + PROBABILITY_SLACK for p in vector):
            return f"{_shown(prediction)} has a probability outside 0..1"
        if abs(sum(vector) - 1) > PROBABILITY_SLACK * len(vector):
            return f"{_shown(prediction)} sums to {sum(vector):.4g}, not 1"
        return None
    value = scalar_value(prediction)
    if contract.kind == "numbers":
        if not _is_number(value):
            return f"{_shown(prediction)} is not a finite number"
        if contract.min is not None and value < contract.min:
            return f"{value!r} is below the minimum {contract.min:g}"
        if contract.max is not None and value > contract.max:
            return f"{value!r} is above the maximum {contract.max:g}"
        return None
    if not isinstance(value, bool | int | float | str):
        return f"{_shown(prediction)} is not a class label"
    if contract.labels is not None and not any(_same_label(value, label) for label in contract.labels):
        return f"{value!r} is not one of the labels {contract.labels}"
    return None


def _same_label(a: Any, b: Any) -> bool:
    """Equal labels: 1 and 1.0 are the same class, True and 1 or '1' and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return bool(a == b)


def reply_problems(body: Any, rows: int, contract: OutputContract) -> list[str]:
    """Why a reply to a request of `rows` rows breaks the contract: one prediction per row, each
    conforming. Empty when it conforms."""
    if not isinstance(body, list):
        return [f"the reply is {_shown(body)}, not a list of predictions"]
    if len(body) != rows:
        return [f"the reply has {len(body)} predictions for {rows} rows"]
    found = []
    for index, prediction in enumerate(body):
        problem = prediction_problem(prediction, contract)
        if problem is not None:
            found.append(f"row {index}: {problem}")
    if len(found) > MAX_PROBLEMS:
        found = [*found[:MAX_PROBLEMS], f"and {len(found) - MAX_PROBLEMS} more rows"]
    return found


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- agreement --------------------------------------------------------------------------------


def agree(a: Any, b: Any, contract: OutputContract) -> bool:
    """Whether two predictions for the same row agree (a prediction that breaks the contract agrees
    with nothing)."""
    if prediction_problem(a, contract) is not None or prediction_problem(b, contract) is not None:
        return False
    if contract.kind == "probabilities":
        va, vb = _vector(a), _vector(b)
        assert va is not None and vb is not None
        return len(va) == len(vb) and _argmax(va) == _argmax(vb)
    x, y = scalar_value(a), scalar_value(b)
    if contract.kind == "numbers":
        tol = contract.agreement_tolerance
        return math.isclose(x, y, rel_tol=tol.relative, abs_tol=tol.absolute)
    return _same_label(x, y)


def _argmax(vector: list[float]) -> int:
    return max(range(len(vector)), key=vector.__getitem__)


def agreeing_rows(candidate: Any, live: Any, contract: OutputContract) -> int:
    """How many rows the two replies agree on (0 when either is not a list)."""
    if not isinstance(candidate, list) or not isinstance(live, list):
        return 0
    return sum(1 for a, b in zip(candidate, live, strict=False) if agree(a, b, contract))


@dataclass(frozen=True)
class Disagreement:
    """A probe row the two deployments disagree on: its index and their answers (never its inputs)."""

    row: int
    candidate: Any
    live: Any

    def describe(self) -> str:
        return f"row {self.row}: candidate {_shown(self.candidate, 40)}, live {_shown(self.live, 40)}"


def worst_rows(candidate: Any, live: Any, contract: OutputContract, most: int = 5) -> list[Disagreement]:
    """The rows the replies disagree on most (numbers: by distance; otherwise in row order)."""
    if not isinstance(candidate, list) or not isinstance(live, list):
        return []
    rows = [
        Disagreement(index, a, b)
        for index, (a, b) in enumerate(zip(candidate, live, strict=False))
        if not agree(a, b, contract)
    ]
    if contract.kind == "numbers":
        rows.sort(key=lambda d: -_distance(d.candidate, d.live))
    return rows[:most]


def _distance(a: Any, b: Any) -> float:
    x, y = scalar_value(a), scalar_value(b)
    if not (_is_number(x) and _is_number(y)) or math.isnan(x) or math.isnan(y):
        return math.inf  # a missing or broken answer is as far as it gets
    return abs(float(x) - float(y))


# --- defaults from the model's output signature -----------------------------------------------

_LABEL_TYPES = {"long", "integer", "string", "boolean"}
_NUMBER_TYPES = {"double", "float"}


def contract_from_signature(mlmodel: Model) -> OutputContract | None:
    """The contract the model's output signature implies, None when it has none or says too little.

    A single float column or 1-D float tensor: numbers. A single integer, string or boolean column
    or tensor: labels (which ones the signature cannot say). Several float columns, or a 2-D float
    tensor of two or more columns: probabilities.
    """
    outputs = mlmodel.signature.outputs if mlmodel.signature is not None else None
    if outputs is None:
        return None
    if outputs.is_tensor_spec():
        if len(outputs.inputs) != 1:
            return None
        spec = outputs.inputs[0]
        kind, shape = spec.type.kind, tuple(spec.shape)
        if kind == "f":
            if len(shape) == 2 and shape[1] not in (-1, 1):
                return OutputContract(kind="probabilities", classes=shape[1])
            return OutputContract(kind="numbers") if len(shape) <= 2 else None
        return OutputContract(kind="labels") if kind in "iubUSO" and len(shape) <= 2 else None
    types = [getattr(spec.type, "name", None) for spec in outputs.inputs]
    if len(types) == 1:
        if types[0] in _NUMBER_TYPES:
            return OutputContract(kind="numbers")
        return OutputContract(kind="labels") if types[0] in _LABEL_TYPES else None
    if all(name in _NUMBER_TYPES for name in types):
        return OutputContract(kind="probabilities", classes=len(types))
    return None
