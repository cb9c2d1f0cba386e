"""Talking to a target: targets (the emulator or Azure), the connection, endpoint and deployment
operations through azure-ai-ml, the scoring client and metrics sources. Imports `rollout.project`
at most; the local target is the one place here that imports the emulator."""
