"""What `rollout init` learns from a registered model: its request schema, rows for the samples and
the probe set, and its output contract.

Rows come from a probe file (CSV or Parquet, the signature's columns) or, without one, from the
model's input example. The output contract starts from the output signature
(`rollout.project.output_contract.contract_from_signature`); the model's answers to the probe rows
then name the labels a classifier answers with (and the kind, when the model has no output
signature). Who predicts them, and where, is the caller's `Answers` (`rollout init`: the model's
own environment, `rollout.azureml.model_environment`): nothing here loads the model.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout import registry
from rollout.core.errors import UserError
from rollout.project.output_contract import OutputContract, contract_from_signature, reply_problems
from rollout.project.schema import model_schema
from rollout.project.spread_tolerance import spread_tolerance

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models import Model

MIN_PROBE_ROWS = 50
MAX_PROBE_ROWS = 200
MAX_LABELS = 50  # more distinct values than this are no set of class labels

# the model's predictions (MLflow's JSON form, a list) for a request (`input_data`, split
# orientation), given the model's directory: a UserError when it cannot answer
Answers = Callable[[Path, dict[str, Any]], list[Any]]


@dataclass
class ModelFacts:
    name: str
    version: int
    schema: dict[str, Any]
    sample: dict[str, Any]  # a request of a few rows
    probe: dict[str, Any]  # the probe set, at least MIN_PROBE_ROWS rows
    output: OutputContract
    warnings: list[str] = field(default_factory=list)
    output_note: str = ""  # where the contract's numbers came from (a comment in the plan)


def _request(frame: pd.DataFrame) -> dict[str, Any]:
    split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    return {"input_data": {"columns": split["columns"], "data": split["data"]}}


def _read_rows(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise UserError(f"--probe {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as exc:
        raise UserError(f"--probe {path}: cannot read it: {str(exc).splitlines()[0]}") from exc
    raise UserError(f"--probe {path}: expected a .csv or .parquet file")


def _probe_rows(path: Path, columns: list[str]) -> pd.DataFrame:
    frame = _read_rows(path)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise UserError(f"--probe {path}: lacks the model's column(s) {', '.join(map(repr, missing))}")
    frame = frame[columns].dropna()
    if len(frame) < MIN_PROBE_ROWS:
        raise UserError(
            f"--probe {path}: {len(frame)} complete rows; agreement needs at least {MIN_PROBE_ROWS}"
        )
    return frame.head(MAX_PROBE_ROWS).reset_index(drop=True)


def _check_rows(request: dict[str, Any], schema: dict[str, Any], what: str) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(request))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise UserError(f"{what} does not fit the model's signature: {where}: {error.message}")


def observed_contract(
    reply: list[Any], rows: int, declared: OutputContract | None
) -> tuple[OutputContract, str]:
    """The contract, completed from the model's predictions `reply` for `rows` probe rows (the labels
    it answers with, the tolerance its spread calls for), and a note on where its numbers came from."""
    contract = declared or _kind_of(reply)
    if contract.kind == "labels" and contract.labels is None:
        values = {_scalar(value) for value in reply if isinstance(_scalar(value), bool | int | float | str)}
        if 0 < len(values) <= MAX_LABELS:
            contract = OutputContract(kind="labels", labels=sorted(values, key=lambda v: (str(type(v)), v)))
    problems = reply_problems(reply, rows, contract)
    if problems:
        raise UserError(f"the model's own predictions break its output contract: {problems[0]}")
    note = ""
    if contract.kind == "numbers" and contract.tolerance is None:
        calibrated = spread_tolerance(reply)
        contract, note = contract.model_copy(update={"tolerance": calibrated.tolerance}), calibrated.note()
    return contract, note


def _scalar(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _kind_of(reply: list[Any]) -> OutputContract:
    first = _scalar(reply[0]) if reply else None
    if isinstance(first, list | dict):
        return OutputContract(kind="probabilities", classes=len(first))
    if isinstance(first, float) and not all(float(_scalar(v)).is_integer() for v in reply):
        return OutputContract(kind="numbers")
    return OutputContract(kind="labels")


def learn(model_uri: str, tracking_uri: str, probe: Path | None, answers: Answers) -> ModelFacts:
    """Everything the scaffold needs from `models:/<name>/<version>` (and the probe file), the
    model's predictions for the probe rows asked of `answers`."""
    import mlflow.artifacts
    import pandas as pd
    from mlflow.models import Model

    reference = registry.parse_model_uri(model_uri)
    if reference is None:
        raise UserError(f"--model {model_uri!r}: expected models:/<name>/<version>")
    found = registry.get_version(tracking_uri, *reference)
    name, version = found.name, int(found.version)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rollout-init-") as scratch:
        source = registry.client(tracking_uri).get_model_version_download_uri(name, str(version))
        model_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=scratch, tracking_uri=tracking_uri
            )
        )
        mlmodel: Model = Model.load(str(model_dir / "MLmodel"))
        schema = model_schema(mlmodel)
        columns = [name for name in schema["properties"]["input_data"]["properties"]["columns"]["const"]]
        example = _input_example(mlmodel, model_dir, columns)
        if probe is not None:
            rows = _probe_rows(probe, columns)
            sample_rows = rows.head(3)
        elif example is not None:
            repeats = -(-MIN_PROBE_ROWS // len(example))
            rows = pd.concat([example] * repeats, ignore_index=True).head(MIN_PROBE_ROWS)
            sample_rows = example
            warnings.append(
                f"samples/probe.json repeats the model's input example ({len(example)} rows) to "
                f"{MIN_PROBE_ROWS} rows: agreement needs real rows, pass --probe FILE"
            )
        else:
            raise UserError(f"{model_uri} has no input example: pass --probe FILE (CSV or Parquet rows)")
        sample, probe_request = _request(sample_rows), _request(rows)
        _check_rows(sample, schema, "the sample rows")
        _check_rows(probe_request, schema, "the probe rows")
        declared = contract_from_signature(mlmodel)
        output, note = observed_contract(answers(model_dir, probe_request), len(rows), declared)
    return ModelFacts(name, version, schema, sample, probe_request, output, warnings, note)


def _input_example(mlmodel: Model, model_dir: Path, columns: list[str]) -> pd.DataFrame | None:
    import pandas as pd

    try:
        example = mlmodel.load_input_example(str(model_dir))
    except Exception:
        return None
    if example is None:
        return None
    frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
    if not set(columns) <= set(frame.columns) or frame.empty:
        return None
    return frame[columns].reset_index(drop=True)
