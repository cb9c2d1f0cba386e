"""Configure the repository's GitHub environments and branch protection from .github/environments.yml.

Dry run by default: prints what differs from the environments and protected branches as GitHub has
them. With --apply, makes the changes through GitHub's REST API (create or update each environment,
add and remove its custom deployment branch policies, set its AZURE_CLIENT_ID variable; protect each
branch). A second --apply changes nothing. `.github/CODEOWNERS` is a file of the repository: the
script checks that it gives each declared pattern its owners, and stops if not.

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

from rollout.github.branch_protection import DEFAULT_CODEOWNERS, apply_branch, check_codeowners, plan_branches
from rollout.github.environments import (
    DEFAULT_API_URL,
    DEFAULT_CONFIG,
    ConfigError,
    GitHub,
    ReviewerResolver,
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
    parser.add_argument(
        "--codeowners", type=Path, default=DEFAULT_CODEOWNERS, help=f"default: {DEFAULT_CODEOWNERS}"
    )
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
    owner = args.repo.split("/")[0]
    check_codeowners(config, args.codeowners, owner)
    github = GitHub(args.api_url, token)
    try:
        changes = plan_changes(github, args.repo, config)
        resolver = ReviewerResolver(github, owner)
        for reviewers in config.code_owners.values():  # GitHub ignores an owner it does not know
            for reviewer in reviewers:
                resolver.resolve(reviewer)
        branches = plan_branches(github, args.repo, config)
        for change in changes:
            print("\n".join(describe(change)))
        for branch in branches:
            print("\n".join(branch.describe()))
        pending = [change for change in changes if not change.empty]
        pending_branches = [branch for branch in branches if not branch.empty]
        counts = f"{len(pending)} environment(s) and {len(pending_branches)} branch(es)"
        if not pending and not pending_branches:
            print(f"{args.repo}: every environment and protected branch is up to date")
        elif not args.apply:
            print(f"dry run: {counts} would change; run again with --apply to change them")
        else:
            for change in pending:
                apply(github, args.repo, change)
            for branch in pending_branches:
                apply_branch(github, args.repo, branch)
            print(f"{args.repo}: applied changes to {counts}")
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
