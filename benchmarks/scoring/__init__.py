"""Scoring performance, side by side in one run: the emulator's endpoint, its instance called
directly, `mlflow models serve` and in-process `pyfunc.predict`, all serving the demo heart
classifier (issue #14).

Measures, with keep-alive clients: 1-row and 100-row latency (p50/p95, rounds interleaved across
the targets so that a busy machine slows them alike); throughput with 8 concurrent clients at 1 and
2 worker processes (`WORKER_COUNT` in the deployment's environment variables, `mlflow models serve
--workers 2`); the router's overhead (endpoint minus instance, p50); the exactness of a 90/10 split
and a 10% mirror over 10,000 requests; and the time `scripts/demo.sh` takes in a scratch copy of
the project. Prints the table and each goal's ratio, and writes benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.scoring [--quick] [--no-demo]

Without `--registry-uri`, the demo heart classifier is trained into a temporary registry. The
parts: `targets` (what is measured), `servers` (starting them), `load` (the measurements), `demo`
(timing scripts/demo.sh), `report` (RESULTS.md) and `run` (all of it, in order).
"""
