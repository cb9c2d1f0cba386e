"""The control plane: the Azure Resource Manager REST API subset azure-ai-ml uses.

- `routes`: the route table; `guard`: authentication, scope and Azure's error replies.
- `handlers`: one method per ARM operation; `parsing`: request bodies; `shapes`: reply bodies.
- `workspace`: the one workspace served and its ARM paths; `lro`: long-running operations.
- `provisioning`: the background side of changes (instances started, stopped, reported).
- `model_registry`: registered models, read from the MLflow registry; `openapi`: /openapi.json.
"""
