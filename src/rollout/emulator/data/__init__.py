"""The data plane: scoring requests and what they measure.

- `scoring`: the route (endpoint, credential, deployment, body checks, mirroring).
- `routing`: which deployment takes a request (exact traffic and mirror splits).
- `forwarding`: sending it to a ready instance and mapping the reply to Azure's statuses.
- `metrics`: per-deployment request counts and latencies (Prometheus text and JSON).
"""
