"""`python -m benchmarks.scoring` (`make bench`): measure, print the report, write RESULTS.md."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import ROOT
from benchmarks.scoring.report import write
from benchmarks.scoring.run import Options, measure

RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def parse_args(argv: Sequence[str] | None = None) -> tuple[Options, Path]:
    """The options the command line asks for, and the results file."""
    default = Options()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scoring",
        description="Scoring latency and throughput of the emulator, side by side with mlflow models serve.",
    )
    parser.add_argument(
        "--rounds", type=int, default=default.rounds, help="interleaved latency rounds (default 10)"
    )
    parser.add_argument(
        "--per-round", type=int, default=default.per_round, help="requests per target per round (default 30)"
    )
    parser.add_argument(
        "--seconds", type=float, default=default.seconds, help="seconds per throughput run (default 5)"
    )
    parser.add_argument("--split-requests", type=int, default=default.split_requests)
    parser.add_argument("--no-demo", action="store_true", help="skip timing scripts/demo.sh")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer requests: 4 rounds, 2 s runs, 2,000 split requests, 1 start of each",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="the results file (default benchmarks/RESULTS.md)"
    )
    parser.add_argument("--registry-uri", help="an MLflow registry holding the model (default: train one)")
    parser.add_argument("--model", default=default.model, help="NAME/VERSION in that registry")
    args = parser.parse_args(argv)
    options = Options(
        rounds=args.rounds,
        per_round=args.per_round,
        seconds=args.seconds,
        split_requests=args.split_requests,
        demo=not args.no_demo,
        registry_uri=args.registry_uri,
        model=args.model,
    )
    quick = dataclasses.replace(options, rounds=4, seconds=2.0, split_requests=2000, start_runs=1)
    return (quick if args.quick else options), args.output


def main(argv: Sequence[str] | None = None) -> None:
    options, output = parse_args(argv)
    write(measure(options), output)


if __name__ == "__main__":
    main()
