"""A local emulator of Azure ML managed online endpoints.

Imports go one way, top to bottom; nothing here imports the client side but `rollout.paths` and
`rollout.__version__`.

- `host/`: the process: `server` (run in the foreground), `process` (start, stop, status in the
  background), `app` (assembles the planes), `config`, `tls`, `access` (the management token).
- `control/`: the ARM plane azure-ai-ml talks to (routes, guard, handlers, shapes, LROs,
  provisioning, the model registry, OpenAPI), and what makes the emulator an Azure cloud: the ARM
  cloud-metadata document (`cloud_metadata`), Azure Monitor metrics (`monitor`, `monitor_query`,
  `metric_definitions`), the workspace's MLflow surface (`mlflow_surface`), its artifact service
  and blob storage (`artifacts`, `artifact_store`; routes in `surface_routes`).
- `data/`: the scoring plane (routing, forwarding to instances, metrics and their per-minute history).
- `instances/`: one OS process per deployment instance (pool, generations, monitor, fork server,
  instance server, logs).
- `state`: endpoints and deployments with Azure's rules; `store`: their SQLite persistence.
- `resources`: the Azure resources and their rules, no HTTP; `credentials`: keys and tokens.
- `errors`: one exception class per Azure error code; `constants`: the emulated scope.
"""
