"""The pre-promotion acceptance suite, shipped with the package: a pytest test package run against a
candidate deployment before it takes traffic.

It reads the project it tests (`--project`, default the working directory): the release plan's
endpoint and output contract, `samples/*.json` and `samples/sample.schema.json`. Nothing in it
knows a model: replies are checked against the output contract, malformed requests are derived
from the request schema. Run it with `rollout acceptance`, or as
`pytest -p rollout.acceptance.plugin --pyargs rollout.acceptance --project DIR`.
"""
