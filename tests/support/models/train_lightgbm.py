"""Train a LightGBM booster on rows of a CSV file and save it as an MLflow model (LightGBM's own
text format), in an environment that has LightGBM (rollout's has not):
`python -I train_lightgbm.py ROWS_CSV MODEL_DIR REQUIREMENTS_JSON`.

The CSV's last column is the class (0, 1, 2, ...); the model answers each row's class
probabilities and has no output signature, so `rollout init` learns its kind from its answers.
"""

import json
import sys

import lightgbm
import mlflow.lightgbm
import pandas as pd
from mlflow.models import infer_signature


def main(rows_csv: str, model_dir: str, requirements: list[str]) -> None:
    frame = pd.read_csv(rows_csv)
    features, target = frame.iloc[:, :-1], frame.iloc[:, -1]
    params = {"objective": "multiclass", "num_class": int(target.nunique()), "verbose": -1, "seed": 0}
    booster = lightgbm.train(params, lightgbm.Dataset(features, target), num_boost_round=20)
    mlflow.lightgbm.save_model(
        booster,
        model_dir,
        signature=infer_signature(features),
        input_example=features.head(3),
        pip_requirements=requirements,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
