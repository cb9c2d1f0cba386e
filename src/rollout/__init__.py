"""rollout: gated blue/green releases of MLflow models to Azure ML managed online endpoints."""

__version__ = "0.1.0"
