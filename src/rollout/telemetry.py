"""Compatibility for `tests/emulator` until its imports move to `rollout.azureml.metrics`. Delete once
nothing imports it."""

from rollout.azureml.metrics import parse_emulator_metrics

__all__ = ["parse_emulator_metrics"]
