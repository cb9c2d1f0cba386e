"""Train the demo classifier, log it as an MLflow model and register it.

The pipeline one-hot encodes `thal` (refusing values it never saw, so a request with an unknown
category is an error, not a guess), passes the other columns through and feeds XGBoost. Two
variants exist so that a release has something new to roll out: different hyperparameters,
mostly the same predictions. Training is deterministic for a given variant and seed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollout import registry
from rollout.core.errors import UserError
from rollout.demo_model import data

if TYPE_CHECKING:
    from mlflow.models import ModelSignature
    from sklearn.pipeline import Pipeline

VARIANTS: dict[int, dict[str, Any]] = {
    1: {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1},
    2: {
        "n_estimators": 200,
        "max_depth": 2,
        "learning_rate": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
    },
}

# skops refuses to load types it does not know; these are the XGBoost ones in the pipeline.
SKOPS_TRUSTED_TYPES = ["xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"]

# Written into the model's requirements as is, so MLflow need not infer them (which takes seconds).
_REQUIREMENTS = ("mlflow", "scikit-learn", "xgboost-cpu", "skops", "pandas", "numpy")


@dataclass(frozen=True)
class TrainedModel:
    pipeline: Pipeline
    variant: int
    seed: int
    holdout_accuracy: float
    holdout_rows: int
    categories: dict[str, list[str]]  # the fitted encoder's categories, per categorical column


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: int
    trained: TrainedModel


def check_variant(variant: int) -> None:
    """A UserError naming the known variants, unless `variant` is one."""
    if variant not in VARIANTS:
        known = ", ".join(str(number) for number in VARIANTS)
        raise UserError(f"no model variant {variant} (variants: {known})")


def build_pipeline(variant: int, seed: int) -> Pipeline:
    """The untrained pipeline of a variant."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from xgboost import XGBClassifier

    check_variant(variant)
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="error", sparse_output=False), list(data.CATEGORICAL))],
        remainder="passthrough",
    )
    classifier = XGBClassifier(random_state=seed, n_jobs=1, tree_method="hist", **VARIANTS[variant])
    return Pipeline([("encode", encode), ("classify", classifier)])


def train(variant: int = 1, seed: int = 0) -> TrainedModel:
    """Fit a variant on the training rows and score it on the fixed holdout."""
    train_rows, holdout = data.holdout_split(data.load_dataset())
    pipeline = build_pipeline(variant, seed)
    columns = list(data.COLUMNS)
    pipeline.fit(train_rows[columns], train_rows[data.LABEL])
    predicted = pipeline.predict(holdout[columns])
    accuracy = float((predicted == holdout[data.LABEL].to_numpy()).mean())
    encoder = pipeline.named_steps["encode"].named_transformers_["onehot"]
    categories = {
        column: [str(value) for value in values]
        for column, values in zip(data.CATEGORICAL, encoder.categories_, strict=True)
    }
    return TrainedModel(pipeline, variant, seed, accuracy, len(holdout), categories)


def signature() -> ModelSignature:
    """13 inputs, all long but `oldpeak` (double) and `thal` (string); one long output."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    def column_type(column: str) -> str:
        if column in data.CATEGORICAL:
            return "string"
        return "double" if column in data.FLOAT_COLUMNS else "long"

    inputs = Schema([ColSpec(column_type(column), column) for column in data.COLUMNS])
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("long")]))


def save(trained: TrainedModel, path: Path) -> None:
    """Write the trained pipeline as an MLflow model directory (skops format)."""
    import mlflow.sklearn

    example, _ = data.holdout_split(data.load_dataset())
    mlflow.sklearn.save_model(
        trained.pipeline,
        str(path),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        signature=signature(),
        input_example=example[list(data.COLUMNS)].head(3),
        pip_requirements=[f"{package}=={installed_version(package)}" for package in _REQUIREMENTS],
        metadata={"categories": trained.categories},
    )


def train_and_register(
    name: str, *, variant: int, seed: int, tracking_uri: str, artifacts_dir: Path
) -> RegisteredModel:
    """Train a variant, log it in a run (parameters, holdout accuracy, model) and register it."""
    trained = train(variant, seed)
    mlflow_client = registry.client(tracking_uri)
    if registry.is_workspace_registry(tracking_uri):
        # a workspace's registry takes the model directory itself; what a run would record
        # (parameters, holdout accuracy) goes on the version as tags
        tags = {
            "variant": str(variant),
            "seed": str(seed),
            "holdout_accuracy": f"{trained.holdout_accuracy:.4f}",
        }
        with tempfile.TemporaryDirectory(prefix="rollout-model-") as scratch:
            model_dir = Path(scratch) / "model"
            save(trained, model_dir)
            version = registry.register_directory(mlflow_client, name, model_dir, tags)
        return RegisteredModel(name, version, trained)
    experiment = registry.experiment_id(mlflow_client, artifacts_dir)
    run = mlflow_client.create_run(experiment, run_name=f"train {name} variant {variant}")
    run_id = run.info.run_id
    for key, value in {"variant": variant, "seed": seed, **VARIANTS[variant]}.items():
        mlflow_client.log_param(run_id, key, value)
    mlflow_client.log_metric(run_id, "holdout_accuracy", trained.holdout_accuracy)
    with tempfile.TemporaryDirectory(prefix="rollout-model-") as scratch:
        model_dir = Path(scratch) / "model"
        save(trained, model_dir)
        version = registry.register_model(
            mlflow_client, name, model_dir, artifacts_dir=artifacts_dir, run_id=run_id
        )
    mlflow_client.set_terminated(run_id)
    return RegisteredModel(name, version, trained)
