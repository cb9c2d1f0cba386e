"""Benchmarks of the emulator against `mlflow models serve`, run from the repository's root:
`python -m benchmarks.scoring` (`make bench`) and `python -m benchmarks.worker_start`."""
