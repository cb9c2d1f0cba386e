"""Configure the repository's GitHub environments from .github/environments.yml.

Dry run by default: prints what differs from the environments as GitHub has them. With --apply,
makes the changes through GitHub's REST API (create or update each environment, then add and
remove its custom deployment branch policies). A second --apply changes nothing.

    GITHUB_TOKEN=... python scripts/configure_environments.py --repo OWNER/REPO [--apply]

The token needs administration rights on the repository (a fine-grained token with
"Administration: write", or a classic token with the `repo` scope); reading teams needs
`read:org`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rollout.github.environments import (
    DEFAULT_API_URL,
    DEFAULT_CONFIG,
    ConfigError,
    GitHub,
    apply,
    describe,
    load_config,
    plan_changes,
)

# --- command line -----------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo", default=os.environ.get("GITHUB_REPOSITORY"), help="OWNER/REPO (default: $GITHUB_REPOSITORY)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help=f"default: {DEFAULT_API_URL}")
    parser.add_argument("--apply", action="store_true", help="make the changes (default: only print them)")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if not args.repo or args.repo.count("/") != 1 or "" in args.repo.split("/"):
        raise ConfigError("name the repository as --repo OWNER/REPO (or set GITHUB_REPOSITORY)")
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "GITHUB_TOKEN is not set; export a token with administration rights on the repository"
        )
    config = load_config(args.config)
    github = GitHub(args.api_url, token)
    try:
        changes = plan_changes(github, args.repo, config)
        for change in changes:
            print("\n".join(describe(change)))
        pending = [change for change in changes if not change.empty]
        if not pending:
            print(f"{args.repo}: every environment is up to date")
        elif not args.apply:
            print(
                f"dry run: {len(pending)} environment(s) would change; run again with --apply to change them"
            )
        else:
            for change in pending:
                apply(github, args.repo, change)
            print(f"{args.repo}: applied changes to {len(pending)} environment(s)")
    finally:
        github.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
