"""Samples and their schema: `samples/*.json` against the committed request schema, and schema drift
(the committed schema against the one derived from the pinned model's signature)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollout.project.layout import SCHEMA_FILE, sample_files
from rollout.project.problems import WHOLE_FILE, Problem, display, field_path, read_json
from rollout.project.specs import ReleasePlan


def load_schema(root: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    path = root / SCHEMA_FILE
    file = display(path, root)
    if not path.is_file():
        return None, [
            Problem(
                file,
                WHOLE_FILE,
                "not found: generate it with rollout schema --model models:/<name>/<version>",
            )
        ]
    schema, problems = read_json(path, file)
    if schema is None:
        return None, problems
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        return None, [
            Problem(file, field_path(error.absolute_path), f"not a valid JSON Schema: {error.message}")
        ]
    return schema, []


def request_problems(body: Any, schema: dict[str, Any], file: str) -> list[Problem]:
    """A request body's problems against a request schema, in document order."""
    from jsonschema import Draft202012Validator

    def document_order(error: Any) -> list[tuple[int, str]]:
        return [(part, "") if isinstance(part, int) else (-1, str(part)) for part in error.absolute_path]

    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=document_order)
    return [Problem(file, field_path(error.absolute_path), _error_message(error)) for error in errors]


def _error_message(error: Any) -> str:
    """jsonschema's message, but for a list of columns: what is missing, extra or out of order."""
    expected, given = error.validator_value, error.instance
    if error.validator != "const" or not isinstance(expected, list) or not isinstance(given, list):
        return error.message
    missing = [repr(name) for name in expected if name not in given]
    extra = [repr(name) for name in given if name not in expected]
    differences = [f"lacks {', '.join(missing)}"] if missing else []
    differences += [f"has unexpected {', '.join(extra)}"] if extra else []
    differs = "; ".join(differences) or "the order differs"
    return f"must be {', '.join(map(str, expected))}, in this order: {differs}"


def sample_problems(root: Path, schema: dict[str, Any]) -> list[Problem]:
    found = []
    for path in sample_files(root):
        file = display(path, root)
        body, problems = read_json(path, file)
        found += problems or request_problems(body, schema, file)
    return found


def drift_problems(
    root: Path, committed: dict[str, Any], plan: ReleasePlan, registry_uri: str
) -> tuple[list[Problem], list[str]]:
    from rollout import registry
    from rollout.project import schema

    name, version = plan.model.name, plan.model.version
    found = registry.find_version(registry_uri, name, version)
    if found is None:
        return [], [
            f"model {name} version {version} is not in the registry at {registry_uri};"
            " schema drift not checked"
        ]
    from mlflow.exceptions import MlflowException

    from rollout.core.errors import UserError

    file = display(root / SCHEMA_FILE, root)
    try:
        derived = schema.model_schema(registry.load_mlmodel(registry_uri, found))
    except UserError as error:
        return [
            Problem(
                file, WHOLE_FILE, f"cannot be compared with model {name} version {version}: {error.message}"
            )
        ], []
    except MlflowException as error:
        return [], [
            f"model {name} version {version} could not be read ({error.message}); schema drift not checked"
        ]
    drifted = schema.drift(committed, derived, f"model {name} version {version}")
    return [Problem(file, where, message) for where, message in drifted], []
