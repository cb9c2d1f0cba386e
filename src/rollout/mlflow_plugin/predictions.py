"""Scoring requests and replies of `predict`, as azureml-mlflow makes and reads them.

The input (a pandas DataFrame, a numpy array, or a dict of arrays) goes out as
`{"input_data": ...}` in pandas' split orientation; the reply (a JSON list in records orientation)
comes back as a pandas DataFrame, one row per input row, or as a numpy array when the endpoint's
swagger says its output format is numpy.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

NUMPY_SWAGGER_FORMAT = "numpy"  # azureml-mlflow's NUMPY_SWAGGER_FORMAT


def request_body(inputs: Any) -> dict[str, Any]:
    """The scoring request of `inputs`: `{"input_data": <split orientation>}`."""
    from mlflow.pyfunc.scoring_server import _get_jsonable_obj

    if isinstance(inputs, dict):
        data: Any = {key: _get_jsonable_obj(value, pandas_orient="split") for key, value in inputs.items()}
    else:
        data = _get_jsonable_obj(inputs, pandas_orient="split")
    return {"input_data": data}


def output_format(swagger_uri: str | None, credential: str, verify: Any) -> str | None:
    """`components.schemas.ServiceOutput.format` of the endpoint's swagger, None when unknown."""
    if not swagger_uri:
        return None
    try:
        response = httpx.get(
            swagger_uri,
            params={"version": 3},
            headers={"Authorization": f"Bearer {credential}"},
            verify=verify,
            timeout=30,
        )
        response.raise_for_status()
        found = response.json().get("components", {}).get("schemas", {}).get("ServiceOutput", {})
        return found.get("format")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None


def predictions(body: Any, format_: str | None) -> pd.DataFrame | np.ndarray:
    """The reply as azureml-mlflow returns it: a DataFrame (records orientation), or a numpy array."""
    if format_ == NUMPY_SWAGGER_FORMAT:
        import numpy as np

        return np.array(body)
    import pandas as pd

    return pd.read_json(io.StringIO(json.dumps(body)), orient="records", dtype=False)
