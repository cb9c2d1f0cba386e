"""Deployment instances: Azure's inference server in each deployment's own environment, one OS
process per instance, forked from that environment's ready process.

- `pool`: every instance of one emulator (prepare, start, readiness, stop, logs, notes).
- `runtime`: a deployment's model files and environment, made ready at provisioning.
- `generations`: a deployment's serving generation and the newer one replacing it.
- `supervisor`: one instance and its monitor thread (spawn, probes, restarts).
- `fork_client`: the pool's side of an environment's ready process.
- `inference_server`: how Azure's `azmlinfsrv` runs in a built environment (its arguments and
  variables; and a server started from nothing, for the benchmark).
- `logs`: instance log files (capped, tailed, platform notes).
- Run by an environment's own Python, never imported by rollout: `instance_forkserver` (the ready
  process) and `scoring_scripts/mlflow_score` (the no-code MLflow scoring script).
"""
