"""The release verbs: deploy, invoke, promote, rollback, retire, status, release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from rollout.cli.common import (
    Json,
    ProjectPath,
    ResourceGroup,
    Subscription,
    Target,
    Workspace,
    connect,
    release_for,
)
from rollout.errors import UserError

Version = Annotated[
    int | None, typer.Option("--version", help="Release this model version instead of the pin.")
]
BakeOverride = Annotated[
    str | None,
    typer.Option(
        "--bake",
        envvar="ROLLOUT_BAKE",
        help="Bake time for every stage instead of the plan's (e.g. 30s, 2m).",
    ),
]
ProbeRps = Annotated[
    float,
    typer.Option(
        "--probe-rps",
        envvar="ROLLOUT_PROBE_RPS",
        help="Probe requests per second sent to both deployments during a bake.",
    ),
]
ForceLock = Annotated[bool, typer.Option("--force-lock", help="Take over the endpoint's release lock.")]


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("invoke")(invoke)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
    app.command("retire")(retire)
    app.command("status")(status)
    app.command("release")(release)


def deploy(
    version: Version = None,
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Deploy the release plan's pinned model into the idle slot at 0% traffic."""
    from rollout import reporting

    rel = release_for(path, target, subscription, resource_group, workspace)
    before = rel.status() if _exists(rel) else None
    result = rel.deploy(version, force_lock=force_lock)
    reporting.github_output(result)
    if result["candidate"] is None:
        reporting.step_summary(
            f"### Nothing to deploy\n\n{result['model']} is already live in {result['live']}.\n"
        )
        if as_json:
            reporting.print_json(result)
        else:
            print(f"{result['model']} is already live in {result['live']}")
        return
    after = rel.status()
    reporting.step_summary(
        f"### Deployed {result['model']} into {result['candidate']}\n\n"
        + (
            reporting.traffic_table("Traffic before", before["traffic"], before["mirror_traffic"])
            if before
            else ""
        )
        + "\n"
        + reporting.traffic_table("Traffic after", after["traffic"], after["mirror_traffic"])
    )
    if as_json:
        reporting.print_json(result)
    else:
        print(f"{result['model']} deployed in {result['candidate']} at 0% (live: {result['live'] or 'none'})")


def invoke(
    request_file: Annotated[Path, typer.Option("--request-file", help="JSON request body.")],
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Send to this deployment by header.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Endpoint name (default: the spec's).")
    ] = None,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Score a request on the endpoint (or one deployment) and print the reply."""
    exit_code = invoke_endpoint(
        endpoint or _endpoint_name(path),
        request_file,
        deployment,
        connect(target, subscription, resource_group, workspace),
        as_json,
    )
    raise typer.Exit(exit_code)


def invoke_endpoint(
    name: str, request_file: Path, deployment: str | None, conn, as_json: bool = False
) -> int:
    """Shared by `rollout invoke` and `rollout endpoint invoke`: print the reply, return an exit code."""
    from rollout.reporting import say

    try:
        body = request_file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {request_file}: {exc.strerror}") from exc
    with conn.scoring(name) as client:
        reply = client.score(body, deployment=deployment)
    say(f"{reply.status} from {reply.deployment or 'no deployment'} in {reply.elapsed_ms:.0f} ms")
    body = reply.body if reply.body is not None else reply.text
    if as_json:
        shown = {"status": reply.status, "deployment": reply.deployment, "request_id": reply.request_id}
        print(json.dumps({**shown, "elapsed_ms": round(reply.elapsed_ms, 1), "body": body}))
    else:
        print(json.dumps(body) if reply.body is not None else body)
    return 0 if reply.ok else 1


def promote(
    stage: Annotated[str, typer.Option("--stage", help="The release plan's stage to run.")],
    bake: BakeOverride = None,
    probe_rps: ProbeRps = 0.0,
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Run one traffic stage: set its split, bake under analysis, roll back when it fails."""
    from rollout.release import EXIT_FAIL, EXIT_INCONCLUSIVE

    rel = release_for(path, target, subscription, resource_group, workspace)
    outcome = run_stage(rel, stage, _bake_seconds(bake), probe_rps, force_lock, as_json)
    if outcome == "fail":
        raise typer.Exit(EXIT_FAIL)
    if outcome == "inconclusive":
        raise typer.Exit(EXIT_INCONCLUSIVE)


def run_stage(
    rel, stage: str, bake_seconds: float | None, probe_rps: float, force_lock: bool, as_json: bool
) -> str:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from rollout import reporting

    before = rel.status()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=reporting.console
    ) as bar:
        task = bar.add_task(f"bake {stage}", total=1.0)

        def on_bake(p) -> None:
            bar.update(
                task,
                completed=min(1.0, p.elapsed / p.seconds) if p.seconds else 1.0,
                description=(
                    f"bake {stage}: candidate {p.candidate.requests} req {p.candidate.errors} failed"
                    f" | live {p.live.requests} req {p.live.errors} failed"
                ),
            )

        result = rel.promote(
            stage, bake_seconds=bake_seconds, probe_rps=probe_rps, force_lock=force_lock, on_bake=on_bake
        )
    after = rel.status()
    verdict = result.verdict
    reporting.github_output(
        {"live": before["live"], "candidate": before["candidate"], "verdict": verdict.outcome}
    )
    reporting.step_summary(
        f"### Stage {stage}: {verdict.outcome}\n\n"
        + "".join(f"- {reason}\n" for reason in verdict.reasons)
        + ("\nRolled back automatically.\n" if result.rolled_back else "")
        + "\n"
        + reporting.traffic_table("Traffic before", before["traffic"], before["mirror_traffic"])
        + "\n"
        + reporting.traffic_table("Traffic after", after["traffic"], after["mirror_traffic"])
        + "\n"
        + reporting.numbers_table(verdict.numbers)
    )
    if as_json:
        reporting.print_json(
            {"stage": stage, "split": result.split, "rolled_back": result.rolled_back, **verdict.to_dict()}
        )
    else:
        print(f"stage {stage}: {verdict.outcome}" + (" (rolled back)" if result.rolled_back else ""))
        for reason in verdict.reasons:
            print(f"  - {reason}")
    return verdict.outcome


def rollback(
    delete: Annotated[bool, typer.Option("--delete", help="Also delete the candidate deployment.")] = False,
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """All traffic back to the deployment that was live before the release; mirror off."""
    from rollout import reporting

    rel = release_for(path, target, subscription, resource_group, workspace)
    result = rel.rollback(delete=delete, force_lock=force_lock)
    after = rel.status()
    reporting.github_output(
        {"live": result["live"], "candidate": result["candidate"], "verdict": "rolled back"}
    )
    reporting.step_summary(
        "### Rolled back\n\n"
        + reporting.traffic_table("Traffic now", after["traffic"], after["mirror_traffic"])
    )
    if as_json:
        reporting.print_json(result)
    else:
        print(
            f"rolled back: all traffic to {result['live'] or 'none'}"
            + (", candidate deleted" if delete else "")
        )


def retire(
    force_lock: ForceLock = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Delete the drained old deployment once the candidate has all traffic."""
    from rollout import reporting

    rel = release_for(path, target, subscription, resource_group, workspace)
    result = rel.retire(force_lock=force_lock)
    reporting.step_summary(f"### Retired {result['retired'] or 'nothing'}\n\nLive: {result['live']}\n")
    if as_json:
        reporting.print_json(result)
    else:
        print(
            f"retired {result['retired']}; live: {result['live']}"
            if result["retired"]
            else "nothing to retire"
        )


def status(
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Endpoint, deployments, traffic, mirror, live and candidate slots, last verdict."""
    from rollout import reporting

    info = release_for(path, target, subscription, resource_group, workspace).status()
    if as_json:
        reporting.print_json(info)
        return
    print_status(info)


def print_status(info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{info['endpoint']} ({info['state']})", title_justify="left")
    for column in ("deployment", "model", "state", "traffic", "mirror", "role"):
        table.add_column(column)
    for d in info["deployments"]:
        table.add_row(
            d["name"], d["model"] or "", d["state"] or "", f"{d['traffic']}%", f"{d['mirror']}%", d["role"]
        )
    console = Console(highlight=False)
    console.print(table)
    console.print(f"scoring uri: {info['scoring_uri']}", markup=False)
    if info["candidate"]:
        console.print(
            f"release {info['release']}: candidate {info['candidate']}, live before {info['live'] or 'none'}, "
            f"last stage passed {info['stage'] or 'none'}",
            markup=False,
        )
    if info["verdict"]:
        console.print(f"last verdict: {info['verdict']}", markup=False)


def release(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask at each gate.")] = False,
    version: Version = None,
    bake: BakeOverride = None,
    probe_rps: ProbeRps = 0.0,
    skip_acceptance: Annotated[
        bool, typer.Option("--skip-acceptance", help="Do not run the acceptance suite.")
    ] = False,
    path: ProjectPath = Path("."),
    target: Target = "local",
    subscription: Subscription = None,
    resource_group: ResourceGroup = None,
    workspace: Workspace = None,
) -> None:
    """The whole release: validate, deploy, acceptance suite, every stage, retire."""
    from rollout.release import EXIT_FAIL, EXIT_INCONCLUSIVE
    from rollout.reporting import say
    from rollout.validation import validate_project

    problems = validate_project(path).problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        raise UserError(f"{len(problems)} problem(s) in the specs; nothing was released")
    rel = release_for(path, target, subscription, resource_group, workspace)
    result = rel.deploy(version)
    if result["candidate"] is None:
        print(f"{result['model']} is already live in {result['live']}: nothing to release")
        return
    passed = rel.roles().stage
    stages = rel.project.plan.stages
    names = [stage.name for stage in stages]
    if passed in names:  # a re-run goes on after the last stage that passed
        say(f"stages up to {passed} have passed already")
        stages = stages[names.index(passed) + 1 :]
    elif not skip_acceptance:
        run_acceptance(rel, result["candidate"], result["live"])
    bake_seconds = _bake_seconds(bake)
    for stage in stages:
        if not yes and not typer.confirm(
            f"Start stage {stage.name} ({stage.traffic}% to {result['candidate']})?"
        ):
            say(f"stopped before stage {stage.name}; resume with `rollout promote --stage {stage.name}`")
            return
        outcome = run_stage(rel, stage.name, bake_seconds, probe_rps, False, False)
        if outcome == "fail":
            raise typer.Exit(EXIT_FAIL)
        if outcome == "inconclusive":
            say(f"stage {stage.name} was inconclusive; re-run `rollout promote --stage {stage.name}`")
            raise typer.Exit(EXIT_INCONCLUSIVE)
    if not yes and not typer.confirm(f"Retire {result['live'] or 'nothing'}?"):
        return
    retired = rel.retire()
    print(
        f"released {result['model']}: {retired['live']} is live"
        + (f", {retired['retired']} retired" if retired["retired"] else "")
    )
    print_status(rel.status())


def run_acceptance(rel, candidate: str, live: str | None) -> None:
    """Run the project's acceptance suite (tests/acceptance) against the candidate, in a child pytest."""
    import os

    from rollout.reporting import say
    from rollout.targets import AZURE_ENV

    root = rel.project.root
    suite = root / "tests" / "acceptance"
    if not suite.is_dir():
        raise UserError(f"no acceptance suite at {suite}; pass --skip-acceptance to release without one")
    command = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider"]
    command += ["--target", rel.conn.target, "--endpoint", rel.endpoint_name, "--deployment", candidate]
    if live:
        command += ["--live", live]
    # the child finds the same workspace: options given as flags travel as their environment variables
    scope = {AZURE_ENV[key]: value for key, value in rel.conn.options.items() if key in AZURE_ENV and value}
    say(f"acceptance suite against {candidate}")
    if subprocess.run(command, cwd=root, env={**os.environ, **scope}).returncode != 0:
        raise UserError(f"the acceptance suite failed against {candidate}; no traffic was moved")


def _bake_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    from rollout.specs import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UserError(f"--bake: {exc}") from exc


def _endpoint_name(path: Path) -> str:
    from rollout.cli.common import project_at

    return project_at(path).endpoint.name


def _exists(rel) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        rel.conn.ml.online_endpoints.get(rel.endpoint_name)
    except ResourceNotFoundError:
        return False
    return True
