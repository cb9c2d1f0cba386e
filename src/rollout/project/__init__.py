"""The user's files: the release plan and spec models, loading, every validation rule, request
schemas and samples. Imports nothing from the other packages of `rollout`."""
