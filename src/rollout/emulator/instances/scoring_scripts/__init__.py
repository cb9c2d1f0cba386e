"""Scoring scripts the emulator hands to Azure's inference server (`azmlinfsrv`) as entry scripts.

They run inside a deployment's own environment, not in rollout's: each imports only what that
environment holds (MLflow, pandas, numpy, the server and its `inference-schema`), never rollout.
Nothing in rollout imports them; `inference_server` passes their paths to the server.
"""
