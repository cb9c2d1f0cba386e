"""`rollout github configure` against a local stand-in for GitHub's REST API, which checks every
request it receives."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from fake_github import API_VERSION, FakeGitHub

REPO = Path(__file__).resolve().parents[2]

RELEASE_ID = "11111111-1111-4111-8111-111111111111"
CANARY_ID = "22222222-2222-4222-8222-222222222222"
PRODUCTION_ID = "33333333-3333-4333-8333-333333333333"
DISPATCH_ID = "44444444-4444-4444-8444-444444444444"
PULL_REQUEST_ID = "55555555-5555-4555-8555-555555555555"

CONFIG = f"""\
environments:
  release:
    identity: {{client_id: {RELEASE_ID}}}
    branches: [main]
  canary:
    identity: {{client_id: {CANARY_ID}}}
    reviewers:
      - team: approvers
    prevent_self_review: true
    branches: [main, "release/*"]
  production:
    identity: {{client_id: {PRODUCTION_ID}}}
    reviewers:
      - user: octocat
      - team: partners/oncall
    prevent_self_review: true
    wait_timer: 15
    can_admins_bypass: false
    branches: protected
branch_protection:
  main:
    required_approving_review_count: 2
    required_status_checks: [Unit tests, Lint]
code_owners:
  /deployments/:
    - team: approvers
  /.github/:
    - team: partners/oncall
    - user: octocat
"""

CODEOWNERS = """\
# owners
/deployments/ @acme/approvers
/.github/ @partners/oncall @octocat  # the workflows
"""

# The body of PUT .../branches/main/protection for CONFIG.
MAIN_PROTECTION = {
    "required_status_checks": {"strict": True, "contexts": ["Lint", "Unit tests"]},
    "enforce_admins": True,
    "required_pull_request_reviews": {
        "dismiss_stale_reviews": True,
        "require_code_owner_reviews": True,
        "required_approving_review_count": 2,
        "require_last_push_approval": True,
    },
    "restrictions": None,
    "allow_force_pushes": False,
    "allow_deletions": False,
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "environments.yml"
    path.write_text(CONFIG)
    (tmp_path / "CODEOWNERS").write_text(CODEOWNERS)
    return path


@pytest.fixture
def api(github_api: FakeGitHub) -> FakeGitHub:
    """The fake API with the reviewers of CONFIG known to it."""
    github_api.add_user("octocat")
    github_api.add_team("approvers")
    github_api.add_team("oncall", org="partners")
    return github_api


def run(cli: Callable[..., Result], api: FakeGitHub, config: Path, *extra: str) -> tuple[int, str, str]:
    """`rollout github configure` for the fake's repository with `config` and the CODEOWNERS beside it."""
    argv = ["configure", "--repo", f"{api.owner}/{api.repo}", "--config", str(config), "--api-url", api.url]
    argv += ["--codeowners", str(config.parent / "CODEOWNERS"), *extra]
    result = cli(*argv)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")


def test_dry_run_prints_the_changes_and_sends_no_writes(github_cli, api, config):
    code, out, err = run(github_cli, api, config)

    assert (code, err) == (0, "")
    assert api.writes == []
    assert api.environments == {}
    assert "environment release: create" in out
    assert "environment canary: create" in out
    assert "  reviewers: team acme/approvers" in out
    assert "  reviewers: team partners/oncall, user octocat" in out
    assert "  wait_timer: 15 min" in out
    assert "  deployment branches: protected" in out
    assert "  add branch policy: release/*" in out
    assert f"  AZURE_CLIENT_ID: unset -> {CANARY_ID}" in out
    assert "branch main: protect" in out
    assert "  required_approving_review_count: 2" in out
    assert "  required_status_checks: Lint, Unit tests" in out
    assert (
        "dry run: 3 environment(s) and 1 branch(es) would change; run again with --apply to change them"
        in out
    )
    assert api.violations == []


def test_every_request_carries_githubs_headers(github_cli, api, config):
    run(github_cli, api, config, "--apply")

    assert api.requests
    for request in api.requests:
        assert request.headers["Authorization"] == "token test-token"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == API_VERSION
    assert api.violations == []


def test_apply_sends_exact_bodies_and_creates_branch_policies(github_cli, api, config):
    code, out, _ = run(github_cli, api, config, "--apply")

    assert code == 0
    assert "acme/models: applied changes to 3 environment(s) and 1 branch(es)" in out
    puts = {r.path: r.body for r in api.writes if r.method == "PUT" and "/environments/" in r.path}
    base = "/repos/acme/models/environments"
    custom = {"protected_branches": False, "custom_branch_policies": True}
    assert puts == {
        f"{base}/release": {
            "wait_timer": 0,
            "prevent_self_review": False,
            "reviewers": None,
            "deployment_branch_policy": custom,
            "can_admins_bypass": True,
        },
        f"{base}/canary": {
            "wait_timer": 0,
            "prevent_self_review": True,
            "reviewers": [{"type": "Team", "id": api.teams[("acme", "approvers")]}],
            "deployment_branch_policy": custom,
            "can_admins_bypass": True,
        },
        f"{base}/production": {
            "wait_timer": 15,
            "prevent_self_review": True,
            "reviewers": [
                {"type": "Team", "id": api.teams[("partners", "oncall")]},
                {"type": "User", "id": api.users["octocat"]},
            ],
            "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
            "can_admins_bypass": False,
        },
    }
    posts = [(r.path, r.body) for r in api.writes if r.method == "POST" and "/variables" not in r.path]
    assert posts == [
        (f"{base}/release/deployment-branch-policies", {"name": "main", "type": "branch"}),
        (f"{base}/canary/deployment-branch-policies", {"name": "main", "type": "branch"}),
        (f"{base}/canary/deployment-branch-policies", {"name": "release/*", "type": "branch"}),
    ]
    # Each PUT comes before the policies of its environment (they need custom policies on).
    methods = [(r.method, r.path.split("/")[5]) for r in api.writes]
    assert methods.index(("PUT", "canary")) < methods.index(("POST", "canary"))
    assert [p["name"] for p in api.environments["canary"].policies] == ["main", "release/*"]
    assert api.environments["production"].wait_timer == 15
    assert api.violations == []


def test_second_apply_sends_no_writes(github_cli, api, config):
    run(github_cli, api, config, "--apply")
    first = len(api.requests)

    code, out, _ = run(github_cli, api, config, "--apply")

    assert code == 0
    assert [r for r in api.requests[first:] if r.method != "GET"] == []
    assert out.count(": no changes") == 4
    assert "branch main: no changes" in out
    assert "acme/models: every environment and protected branch is up to date" in out
    assert api.violations == []


def test_drift_is_shown_then_corrected_with_extra_policies_deleted(github_cli, api, config):
    run(github_cli, api, config, "--apply")
    canary = api.environments["canary"]
    canary.wait_timer = 30
    canary.reviewers = [("User", api.users["octocat"])]
    stale = api.add_policy("canary", "feature/*")
    api.add_policy("release", "dev")
    api.environments["release"].policies = [
        p for p in api.environments["release"].policies if p["name"] != "main"
    ]

    code, out, _ = run(github_cli, api, config)
    assert code == 0
    assert "environment canary: update" in out
    assert "  wait_timer: 30 min -> 0 min" in out
    assert "  reviewers: user octocat -> team acme/approvers" in out
    assert "  remove branch policy: feature/*" in out
    assert "environment release: update" in out
    assert "  add branch policy: main" in out
    assert "environment production: no changes" in out
    assert "dry run: 2 environment(s) and 0 branch(es) would change" in out
    before_apply = len(api.requests)

    run(github_cli, api, config, "--apply")

    writes = [(r.method, r.path) for r in api.requests[before_apply:] if r.method != "GET"]
    base = "/repos/acme/models/environments"
    assert ("DELETE", f"{base}/canary/deployment-branch-policies/{stale}") in writes
    assert ("PUT", f"{base}/canary") in writes
    assert ("POST", f"{base}/release/deployment-branch-policies") in writes
    assert ("PUT", f"{base}/production") not in writes
    assert ("PUT", f"{base}/release") not in writes
    assert [p["name"] for p in api.environments["canary"].policies] == ["main", "release/*"]
    assert {p["name"] for p in api.environments["release"].policies} == {"main"}
    assert api.environments["canary"].wait_timer == 0
    assert api.violations == []


def test_policies_are_read_across_pages(github_cli, api, config):
    run(github_cli, api, config, "--apply")
    extra = [api.add_policy("release", f"feature/{n}") for n in range(120)]

    code, _, _ = run(github_cli, api, config, "--apply")

    assert code == 0
    pages = [
        r.query.get("page") for r in api.requests if r.path.endswith("release/deployment-branch-policies")
    ]
    assert ["2"] in pages
    deleted = {int(r.path.rsplit("/", 1)[1]) for r in api.requests if r.method == "DELETE"}
    assert deleted == set(extra)
    assert [p["name"] for p in api.environments["release"].policies] == ["main"]
    assert api.violations == []  # the next pages too carry GitHub's headers


def test_missing_token_is_one_line_and_no_request(github_cli, api, config, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")

    code, _, err = run(github_cli, api, config)

    assert code == 1
    assert (
        err == "error: GITHUB_TOKEN is not set; export a token with administration rights on the repository\n"
    )
    assert api.requests == []


def test_bad_token_reports_githubs_401_message(github_cli, api, config, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")

    code, _, err = run(github_cli, api, config)

    assert code == 1
    assert (
        err == "error: GitHub answered 401 to GET /repos/acme/models/environments/release: Bad credentials\n"
    )


def test_forbidden_write_reports_githubs_403_message(github_cli, api, config):
    api.forced[("PUT", "/repos/acme/models/environments/release")] = (
        403,
        "Resource not accessible by integration",
    )

    code, _, err = run(github_cli, api, config, "--apply")

    assert code == 1
    assert err == (
        "error: GitHub answered 403 to PUT /repos/acme/models/environments/release: "
        "Resource not accessible by integration\n"
    )
    assert api.writes[-1].method == "PUT"


def test_unknown_repository_reports_404(github_cli, api, config):
    api.forced[("GET", "/repos/acme/models/environments/release")] = (404, "Not Found")
    api.forced[("PUT", "/repos/acme/models/environments/release")] = (404, "Not Found")

    code, _, err = run(github_cli, api, config, "--apply")

    assert code == 1
    assert err == "error: GitHub answered 404 to PUT /repos/acme/models/environments/release: Not Found\n"


def test_unknown_reviewer_is_named(github_cli, github_api, config):
    github_api.add_team("approvers")

    code, _, err = run(github_cli, github_api, config)

    assert code == 1
    assert err == "error: reviewer user 'octocat' not found on GitHub (GET /users/octocat: 404)\n"
    assert github_api.writes == []


def test_each_environment_gets_its_own_client_id_variable(github_cli, api, config):
    run(github_cli, api, config, "--apply")

    assert {name: env.variables for name, env in api.environments.items()} == {
        "release": {"AZURE_CLIENT_ID": RELEASE_ID},
        "canary": {"AZURE_CLIENT_ID": CANARY_ID},
        "production": {"AZURE_CLIENT_ID": PRODUCTION_ID},
    }
    writes = [(r.method, r.path) for r in api.writes]
    base = "/repos/acme/models/environments"
    assert writes.index(("PUT", f"{base}/canary")) < writes.index(("POST", f"{base}/canary/variables"))
    assert api.violations == []


def test_a_changed_client_id_is_shown_then_patched(github_cli, api, config):
    run(github_cli, api, config, "--apply")
    api.environments["canary"].variables["AZURE_CLIENT_ID"] = PRODUCTION_ID  # production's identity
    before = len(api.requests)

    code, out, _ = run(github_cli, api, config)
    assert code == 0
    assert f"environment canary: update\n  AZURE_CLIENT_ID: {PRODUCTION_ID} -> {CANARY_ID}\n" in out
    assert "dry run: 1 environment(s) and 0 branch(es) would change" in out
    run(github_cli, api, config, "--apply")

    writes = [(r.method, r.path, r.body) for r in api.requests[before:] if r.method != "GET"]
    assert writes == [
        (
            "PATCH",
            "/repos/acme/models/environments/canary/variables/AZURE_CLIENT_ID",
            {"name": "AZURE_CLIENT_ID", "value": CANARY_ID},
        )
    ]
    assert api.environments["canary"].variables == {"AZURE_CLIENT_ID": CANARY_ID}
    assert api.violations == []


def test_the_pull_requests_identity_is_the_repositorys_variable_set_then_corrected(github_cli, api, config):
    config.write_text(config.read_text() + f"pull_requests:\n  identity: {{client_id: {PULL_REQUEST_ID}}}\n")

    code, out, _ = run(github_cli, api, config)
    assert code == 0
    assert f"repository variable AZURE_PULL_REQUEST_CLIENT_ID: unset -> {PULL_REQUEST_ID}\n" in out
    assert api.writes == []
    run(github_cli, api, config, "--apply")
    assert api.variables == {"AZURE_PULL_REQUEST_CLIENT_ID": PULL_REQUEST_ID}
    assert all("AZURE_PULL_REQUEST_CLIENT_ID" not in env.variables for env in api.environments.values())

    api.variables["AZURE_PULL_REQUEST_CLIENT_ID"] = RELEASE_ID  # drift: the release's identity
    before = len(api.requests)
    code, out, _ = run(github_cli, api, config, "--apply")
    assert code == 0
    assert f"AZURE_PULL_REQUEST_CLIENT_ID: {RELEASE_ID} -> {PULL_REQUEST_ID}" in out
    assert "0 environment(s), 0 branch(es) and the repository variable AZURE_PULL_REQUEST_CLIENT_ID" in out
    writes = [(r.method, r.path, r.body) for r in api.requests[before:] if r.method != "GET"]
    assert writes == [
        (
            "PATCH",
            "/repos/acme/models/actions/variables/AZURE_PULL_REQUEST_CLIENT_ID",
            {"name": "AZURE_PULL_REQUEST_CLIENT_ID", "value": PULL_REQUEST_ID},
        )
    ]
    code, out, _ = run(github_cli, api, config)
    assert "repository variable AZURE_PULL_REQUEST_CLIENT_ID: no changes" in out
    assert "every environment and protected branch is up to date" in out
    assert api.violations == []


def test_a_pull_requests_identity_shared_with_an_environment_is_refused(github_cli, api, config):
    config.write_text(config.read_text() + f"pull_requests:\n  identity: {{client_id: {CANARY_ID}}}\n")

    code, _, err = run(github_cli, api, config)

    assert code == 1
    assert "pull_requests shares the identity of environment canary" in err
    assert api.requests == []


def test_branch_protection_is_put_whole_then_drift_is_corrected(github_cli, api, config):
    run(github_cli, api, config, "--apply")
    puts = [r.body for r in api.writes if r.path == "/repos/acme/models/branches/main/protection"]
    assert puts == [MAIN_PROTECTION]
    # Someone turns off code owners' reviews and lets admins push past the rules.
    drifted = {**MAIN_PROTECTION, "enforce_admins": False}
    drifted["required_pull_request_reviews"] = {
        **MAIN_PROTECTION["required_pull_request_reviews"],
        "require_code_owner_reviews": False,
    }
    api.branches["main"] = drifted
    before = len(api.requests)

    code, out, _ = run(github_cli, api, config)
    assert code == 0
    assert (
        "branch main: update\n  require_code_owner_reviews: false -> true\n  enforce_admins: false -> true\n"
        in out
    )
    assert [r for r in api.requests[before:] if r.method != "GET"] == []
    run(github_cli, api, config, "--apply")

    assert api.branches["main"] == MAIN_PROTECTION
    assert api.violations == []


def test_a_branch_github_does_not_have_is_githubs_404(github_cli, api, config):
    del api.branches["main"]

    code, _, err = run(github_cli, api, config, "--apply")

    assert code == 1
    assert (
        err
        == "error: GitHub answered 404 to PUT /repos/acme/models/branches/main/protection: Branch not found\n"
    )


@pytest.mark.parametrize(
    ("codeowners", "message"),
    [
        (None, "CODEOWNERS: it is missing"),
        (
            CODEOWNERS.replace("@acme/approvers", "@acme/someone-else"),
            "/deployments/ has @acme/someone-else; the configuration says @acme/approvers",
        ),
        (CODEOWNERS + "/deployments/ @octocat\n", "/deployments/ has @octocat;"),  # the last line wins
        (CODEOWNERS.replace("/.github/ ", "/.gitlab/ "), "/.github/ has no line;"),
    ],
)
def test_codeowners_out_of_step_with_the_file_stops_before_any_request(
    github_cli, api, config, codeowners, message
):
    path = config.parent / "CODEOWNERS"
    if codeowners is None:
        path.unlink()
    else:
        path.write_text(codeowners)

    code, _, err = run(github_cli, api, config, "--apply")

    assert code == 1
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1
    assert message in err
    assert api.requests == []


def test_an_unknown_code_owner_is_named(github_cli, github_api, config):
    github_api.add_user("octocat")
    github_api.add_team("oncall", org="partners")

    code, _, err = run(github_cli, github_api, config)

    assert code == 1
    assert (
        err
        == "error: reviewer team 'acme/approvers' not found on GitHub (GET /orgs/acme/teams/approvers: 404)\n"
    )
    assert github_api.writes == []


IDENTITY = f"environments:\n  canary:\n    identity: {{client_id: {CANARY_ID}}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("environments:\n  canary:\n    branches: [main]\n", "environments.canary.identity: Field required"),
        (
            "environments:\n  canary:\n    identity: {client_id: 00000000-0000-0000-0000-000000000000}\n",
            "replace the placeholder with the client ID",
        ),
        (
            f"environments:\n  a:\n    identity: {{client_id: {RELEASE_ID}}}\n"
            f"  b:\n    identity: {{client_id: {RELEASE_ID}}}\n",
            f"environments a and b share the identity {RELEASE_ID}; each environment logs in with its own",
        ),
        (
            f"environments:\n  a:\n    identity: {{client_id: {RELEASE_ID}}}\n"
            "branch_protection:\n  main:\n    required_approving_review_count: 7\n",
            "branch_protection.main.required_approving_review_count",
        ),
        (
            IDENTITY + "    wait_timer: 50000\n",
            "environments.canary.wait_timer: Input should be",
        ),
        (IDENTITY + "    prevent_self_review: true\n", "prevent_self_review needs reviewers"),
        (IDENTITY + "    reviewers: [{user: a, team: b}]\n", "either `user: LOGIN` or `team"),
        (IDENTITY + "    colour: blue\n", "environments.canary.colour: Extra inputs"),
        ("environments: [\n", "is not valid YAML"),
    ],
)
def test_invalid_config_is_one_line(github_cli, api, tmp_path, text, message):
    path = tmp_path / "environments.yml"
    path.write_text(text)

    code, _, err = run(github_cli, api, path)

    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err
    assert api.requests == []


@pytest.mark.parametrize("repo", [None, "acme", "acme/models/extra", "/models"])
def test_missing_or_malformed_repository_name(github_cli, config, monkeypatch, repo):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)

    result = github_cli("configure", "--config", str(config), *(["--repo", repo] if repo else []))

    assert result.exit_code == 1
    assert result.stderr == "error: name the repository as --repo OWNER/REPO (or set GITHUB_REPOSITORY)\n"


def test_the_repository_defaults_to_github_repository(github_cli, api, config, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    codeowners = str(config.parent / "CODEOWNERS")

    result = github_cli(
        "configure", "--config", str(config), "--codeowners", codeowners, "--api-url", api.url
    )

    assert result.exit_code == 0, result.output
    assert "dry run: 3 environment(s) and 1 branch(es) would change" in result.stdout
    assert {r.path for r in api.requests} >= {"/repos/acme/models/environments/release"}


def test_unreachable_api_is_one_line(github_cli, config):
    codeowners = str(config.parent / "CODEOWNERS")
    result = github_cli(
        "configure",
        "--repo",
        "acme/models",
        "--config",
        str(config),
        "--codeowners",
        codeowners,
        "--api-url",
        "http://127.0.0.1:9",
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach GitHub at http://127.0.0.1:9: ")
    assert result.stderr.count("\n") == 1


def test_the_projects_environments_file_applies_as_a_process(api, tmp_path):
    """`rollout github configure`, as a process, on the repository's own .github/environments.yml."""
    api.add_team("ml-release-approvers")
    api.add_team("ml-platform-oncall")
    command = [
        sys.executable,
        "-m",
        "rollout",
        "github",
        "configure",
        "--repo",
        "acme/models",
        "--api-url",
        api.url,
        "--apply",
    ]
    env = {**os.environ, "GITHUB_TOKEN": "test-token"}

    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)

    assert first.returncode == 0, first.stderr
    assert (
        "applied changes to 7 environment(s), 1 branch(es) and the repository variable "
        "AZURE_PULL_REQUEST_CLIENT_ID" in first.stdout
    )
    environments = {
        "release",
        "release-dispatch",
        "release-rollback",
        "shadow",
        "canary",
        "production-half",
        "production",
    }
    assert set(api.environments) == environments
    # no admin bypasses the rules of an environment whose identity can move traffic or deploy
    bypass = {name: environment.can_admins_bypass for name, environment in api.environments.items()}
    assert bypass == {**dict.fromkeys(environments, False), "release-dispatch": True}
    assert api.environments["release-dispatch"].reviewers == [
        ("Team", api.teams[("acme", "ml-release-approvers")])
    ]
    client_ids = {name: env.variables["AZURE_CLIENT_ID"] for name, env in api.environments.items()}
    assert len(set(client_ids.values())) == len(environments)
    # the pull requests' identity is the repository's variable, no environment's
    assert api.variables == {"AZURE_PULL_REQUEST_CLIENT_ID": "6f1c0e2a-0000-4000-8000-000000000008"}
    assert api.variables["AZURE_PULL_REQUEST_CLIENT_ID"] not in client_ids.values()
    main = api.branches["main"]
    assert main is not None and main["required_pull_request_reviews"]["require_code_owner_reviews"] is True
    assert second.returncode == 0, second.stderr
    assert "every environment and protected branch is up to date" in second.stdout
    assert api.violations == []


def test_a_scaffolded_file_is_refused_until_its_identities_are_filled_in(github_cli, api, tmp_path):
    from rollout.github.environments_config import starter_config

    path = tmp_path / "environments.yml"
    path.write_text(starter_config("release", "release-dispatch", ["canary", "production"]))
    (tmp_path / "CODEOWNERS").write_text("")

    code, _, err = run(github_cli, api, path)
    assert code == 1
    assert "environments.release.identity" in err
    assert "replace the placeholder with the client ID" in err
    assert api.requests == []

    text = path.read_text()
    for client_id in (RELEASE_ID, CANARY_ID, PRODUCTION_ID, DISPATCH_ID, PULL_REQUEST_ID):
        text = text.replace("00000000-0000-0000-0000-000000000000", client_id, 1)
    path.write_text(text)
    code, out, _ = run(github_cli, api, path, "--apply")
    assert code == 0, out
    assert set(api.environments) == {"release", "release-dispatch", "canary", "production"}
    assert api.variables == {"AZURE_PULL_REQUEST_CLIENT_ID": PULL_REQUEST_ID}
    assert api.violations == []
