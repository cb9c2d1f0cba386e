"""Deployment instances: one OS process per instance, forked from a warm fork server.

- `pool`: every instance of one emulator (start, readiness, stop, logs, notes).
- `generations`: a deployment's serving generation and the newer one replacing it.
- `monitor`: one instance and its monitor thread (spawn, probes, restarts).
- `fork_client`: the pool's side of the fork server; `fork_server`: the fork server itself.
- `server`: the instance server, the HTTP server inside each instance process.
- `logs`: instance log files (capped, tailed, platform notes).
- `inference_server`: Azure's `azmlinfsrv` run in a deployment's built environment, with the no-code
  MLflow script in `scoring_scripts/` (not used by the instances yet).
"""
