"""Whether loading an MLflow model runs code that came with it, read from its `MLmodel` flavors.

Registering or deploying a model means trusting it: a pickle runs code when it is loaded, and so
does a model that names Python code to import. The rule: a flavor runs code on load when it stores
a pickle (`serialization_format` pickle or cloudpickle, a cloudpickled `python_model`, a
`pickle_module_name`, a `.pkl` file) or names code to import (a `code` folder, a model written as
code, a `loader_module` outside MLflow). Data formats (skops with MLflow's own trusted types,
XGBoost's JSON or UBJSON, ONNX) do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})
PYFUNC = "python_function"


def _flavor_reasons(name: str, flavor: Mapping[str, Any]) -> list[str]:
    reasons = []
    if flavor.get("serialization_format") in PICKLE_FORMATS:
        reasons.append(f"{name}: a {flavor['serialization_format']} file")
    elif str(flavor.get("pickled_model", "")).endswith((".pkl", ".pickle")):
        reasons.append(f"{name}: a pickle file")
    if flavor.get("pickle_module_name"):
        reasons.append(f"{name}: a file unpickled with {flavor['pickle_module_name']}")
    if flavor.get("code"):
        reasons.append(f"{name}: the code folder {flavor['code']}")
    if name == PYFUNC:
        loader = str(flavor.get("loader_module") or "")
        if flavor.get("python_model"):
            reasons.append(f"{name}: a cloudpickled Python model")
        if flavor.get("model_code_path") or loader == "mlflow.pyfunc.loaders.code_model":
            reasons.append(f"{name}: a model written as Python code")
        elif loader and not loader.startswith("mlflow."):
            reasons.append(f"{name}: the loader module {loader}")
    return reasons


def code_on_load(flavors: Mapping[str, Any]) -> list[str]:
    """Why loading a model with these flavors runs code it ships; empty when nothing does."""
    reasons: list[str] = []
    for name, flavor in flavors.items():
        if isinstance(flavor, Mapping):
            reasons += [reason for reason in _flavor_reasons(name, flavor) if reason not in reasons]
    return reasons


def trust_warning(model: str, flavors: Mapping[str, Any]) -> str | None:
    """One line for stderr when loading `model` runs its code, else None."""
    reasons = code_on_load(flavors)
    if not reasons:
        return None
    return (
        f"warning: loading {model} runs code it ships ({'; '.join(reasons)}): "
        "register and deploy only models you trust"
    )
