"""The project's MLflow plugin for the `rollout` scheme (`MLFLOW_TRACKING_URI=rollout://local`):
tracking and model-registry stores on the local registry the emulator serves models from, and the
`rollout` deployments target (the Azure article's MLflow calls on the emulator). Registered as
entry points of the package; nothing in the project imports it."""
