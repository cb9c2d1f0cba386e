"""`python -m rollout.emulator`: run the emulator in the foreground (what `rollout emulator start` spawns)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rollout.emulator.control.timing import PROFILES, TIME_SCALE_ENV, TIMING_ENV, timing_from
from rollout.emulator.credentials import DEFAULT_TOKEN_TTL_SECONDS
from rollout.emulator.host.server import ServerConfig, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rollout.emulator", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--registry-uri", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--poll-interval-ms", type=int, default=200)
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL_SECONDS)
    parser.add_argument(
        "--timing",
        choices=PROFILES,
        default=os.environ.get(TIMING_ENV) or "instant",
        help=f"How long long-running operations take (default: ${TIMING_ENV}, else instant).",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=os.environ.get(TIME_SCALE_ENV) or 1.0,
        help=f"Multiplies the azure profile's durations (default: ${TIME_SCALE_ENV}, else 1).",
    )
    args = parser.parse_args(argv)
    try:
        config = ServerConfig(
            state_dir=args.state_dir,
            registry_uri=args.registry_uri,
            port=args.port,
            poll_interval_ms=args.poll_interval_ms,
            token_ttl=args.token_ttl,
            timing=timing_from(args.timing, args.time_scale),
        )
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    serve(config)


if __name__ == "__main__":
    main()
