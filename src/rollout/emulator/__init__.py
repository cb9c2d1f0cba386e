"""A local emulator of Azure ML managed online endpoints.

- `models`: state and Azure's rules (endpoints, deployments, keys, traffic); no HTTP.
- `store`: SQLite persistence of that state.
- `arm`: the ARM REST API subset azure-ai-ml uses (routes, JSON shapes, long-running operations).
- `workers`: one OS process per deployment instance, probes, restarts, logs.
- `scoring`: the data plane: auth, routing by traffic or header, mirroring, error mapping.
- `metrics`: per-deployment request metrics (Prometheus text and JSON).
- `server`: assembles the HTTPS app; `process`: starts and stops it in the background.
"""
