"""JSON Schema of a scoring request, derived from an MLflow model's signature.

The request is the body Azure ML's no-code MLflow deployments take:
`{"input_data": {"columns": [...], "index": [...], "data": [[...], ...]}, "params": {...}}`.
Columns are the signature's inputs, exact names in order; each row is typed column by column.
A model may name the allowed values of categorical columns in its MLmodel metadata, as
`metadata: {categories: {<column>: [<value>, ...]}}`; those columns become enums.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout import registry
from rollout.core.errors import UserError

if TYPE_CHECKING:
    from mlflow.models import Model
    from mlflow.types import Schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
CATEGORIES_KEY = "categories"

_JSON_TYPES = {
    "long": "integer",
    "integer": "integer",
    "double": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "binary": "string",
    "datetime": "string",
}


def request_schema(inputs: Schema, categories: dict[str, list[Any]] | None = None) -> dict[str, Any]:
    """The request schema for a column-based MLflow input schema."""
    if inputs.is_tensor_spec() or not inputs.has_input_names():
        raise UserError("the model's signature has no named input columns, so no request schema applies")
    categories = categories or {}
    names = inputs.input_names()
    cells = [_cell_schema(spec, categories.get(spec.name or "")) for spec in inputs.inputs]
    width = len(names)
    return {
        "$schema": DRAFT,
        "title": "Scoring request",
        "description": "An Azure ML online endpoint request for the model (pandas split orientation), "
        "generated from its MLflow signature by `rollout schema`.",
        "type": "object",
        "required": ["input_data"],
        "additionalProperties": False,
        "properties": {
            "input_data": {
                "type": "object",
                "required": ["columns", "data"],
                "additionalProperties": False,
                "properties": {
                    "columns": {
                        "description": "The model's input columns, exact names in order.",
                        "const": names,
                    },
                    "index": {"type": "array", "items": {"type": ["integer", "string"]}},
                    "data": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "array",
                            "prefixItems": cells,
                            "minItems": width,
                            "maxItems": width,
                        },
                    },
                },
            },
            "params": {"type": "object"},
        },
    }


def _cell_schema(spec: Any, values: list[Any] | None) -> dict[str, Any]:
    type_name = getattr(spec.type, "name", None)
    json_type = _JSON_TYPES.get(type_name) if isinstance(type_name, str) else None
    if json_type is None:
        json_type = {"Array": "array", "Object": "object", "Map": "object"}.get(type(spec.type).__name__)
    cell: dict[str, Any] = {"title": spec.name}
    if json_type is not None:
        cell["type"] = json_type if spec.required else [json_type, "null"]
    if values is not None:
        cell["enum"] = list(values) + ([] if spec.required else [None])
    return cell


def model_schema(mlmodel: Model) -> dict[str, Any]:
    """The request schema of a loaded `MLmodel`."""
    if mlmodel.signature is None:
        raise UserError("the model has no signature, so no request schema can be derived")
    categories = (mlmodel.metadata or {}).get(CATEGORIES_KEY) or {}
    return request_schema(mlmodel.signature.inputs, categories)


def load_model_metadata(model: str, tracking_uri: str) -> Model:
    """The `MLmodel` of `models:/<name>/<version|latest>` in the registry, or of a local model directory."""
    from mlflow.models import Model

    reference = registry.parse_model_uri(model)
    if reference is not None:
        name, version = reference
        return registry.load_mlmodel(tracking_uri, registry.get_version(tracking_uri, name, version))
    if model.startswith("models:"):
        raise UserError(f"{model!r} is not a model URI of the form models:/<name>/<version>")
    path = Path(model)
    if not (path / "MLmodel").is_file():
        raise UserError(f"{model} is neither models:/<name>/<version> nor an MLflow model directory")
    return Model.load(str(path))


def columns(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    """(column name, cell schema) pairs of a request schema of this shape; None if it has another."""
    try:
        input_data = schema["properties"]["input_data"]["properties"]
        names = input_data["columns"]["const"]
        cells = input_data["data"]["items"]["prefixItems"]
    except (KeyError, TypeError):
        return None
    if not isinstance(names, list) or not isinstance(cells, list) or len(names) != len(cells):
        return None
    return list(zip(names, cells, strict=True))


def drift(committed: dict[str, Any], derived: dict[str, Any], model: str) -> list[tuple[str, str]]:
    """How a committed request schema differs from the one derived from `model`: (field, message)."""
    ours = columns(committed)
    theirs = columns(derived)
    if ours is None:
        return [
            ("input_data", "does not list the request's columns and their types, so it cannot be compared")
        ]
    assert theirs is not None
    found: list[tuple[str, str]] = []
    names, model_names = [name for name, _ in ours], [name for name, _ in theirs]
    missing = [name for name in model_names if name not in names]
    extra = [name for name in names if name not in model_names]
    if missing:
        found.append(("input_data.columns", f"lacks {_listed(missing)}, which {model} takes"))
    if extra:
        found.append(("input_data.columns", f"has {_listed(extra)}, which {model} does not take"))
    if not missing and not extra and names != model_names:
        found.append(("input_data.columns", f"order differs from {model}'s: {', '.join(model_names)}"))
    model_cells = dict(theirs)
    for name, cell in ours:
        if name not in model_cells:
            continue
        expected = model_cells[name]
        if cell.get("type") != expected.get("type"):
            found.append(
                (
                    f"columns.{name}",
                    f"type {_shown(cell.get('type'))} differs from {model}'s {_shown(expected.get('type'))}",
                )
            )
        if cell.get("enum") != expected.get("enum"):
            found.append(
                (
                    f"columns.{name}",
                    f"values {_shown(cell.get('enum'))} differ from {model}'s {_shown(expected.get('enum'))}",
                )
            )
    return found


def _listed(names: list[str]) -> str:
    quoted = ", ".join(repr(name) for name in names)
    return f"column{'s' if len(names) > 1 else ''} {quoted}"


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)
