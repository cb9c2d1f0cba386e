"""The committed stand-ins of third-party actions (tools/act/actions), run by act in a workflow of
their own: the login stand-in checks its inputs, the upload stand-in copies artifacts."""

from __future__ import annotations

from pathlib import Path

from rehearsal_support import explain
from rollout.rehearsal import act, repository

REPO = Path(__file__).resolve().parents[2]

STAND_IN_WORKFLOW = """
name: stand-ins
on: push
jobs:
  login:
    runs-on: ubuntu-latest
    steps:
      - uses: {login}
        with:
          client-id: ${{{{ vars.AZURE_CLIENT_ID }}}}
          tenant-id: ${{{{ vars.AZURE_TENANT_ID }}}}
          subscription-id: ${{{{ vars.AZURE_SUBSCRIPTION_ID }}}}
  upload:
    runs-on: ubuntu-latest
    steps:
      - uses: {checkout}
      - run: mkdir -p reports && echo '<testsuite tests="1"/>' > reports/a.xml
      - uses: {upload}
        with:
          name: report
          path: reports/a.xml
      - uses: {upload}
        with:
          name: nothing
          path: reports/missing.xml
          if-no-files-found: error
"""


def test_the_stand_ins_check_login_inputs_and_copy_artifacts(tmp_path: Path) -> None:
    from rollout.github.workflow import ACTION_PINS

    def uses(key: str) -> str:
        return "{}@{}".format(*ACTION_PINS[key][:2])

    source = tmp_path / "source"
    workflow = Path(".github/workflows/stand-ins.yml")
    (source / workflow).parent.mkdir(parents=True)
    text = STAND_IN_WORKFLOW.format(
        login=uses("azure-login"), checkout=uses("checkout"), upload=uses("upload-artifact")
    )
    (source / workflow).write_text(text)
    repo = repository.make_repo(source, tmp_path / "repo", 1, lambda _: None, plan=None)
    run = act.ActRun(
        repo=repo.path,
        work=tmp_path / "work",
        venv=act.prepared_venv(),
        rollout_home=tmp_path / "home",
        variables={"AZURE_CLIENT_ID": "client", "AZURE_SUBSCRIPTION_ID": "sub"},  # no tenant
        stand_ins=REPO / repository.STAND_INS,
    )
    result = run.run(act.Event("push", repository.push_event(repo)), workflow=workflow, timeout=120)
    assert result.jobs["login"].result == "failure", explain(result)
    assert "tenant-id missing" in "\n".join(result.jobs["login"].log)
    # upload: the first artifact is copied, the second (no file, if-no-files-found: error) fails
    assert (result.artifact("report") / "reports" / "a.xml").read_text().startswith("<testsuite")
    assert result.jobs["upload"].result == "failure"
    assert not result.artifact("nothing").exists()
    run.variables["AZURE_TENANT_ID"] = "tenant"
    result = run.run(
        act.Event("push", repository.push_event(repo)), workflow=workflow, job="login", timeout=120
    )
    assert result.jobs["login"].result == "success", explain(result)
    assert result.logins() == [
        {
            "job": "login",
            "client-id": "client",
            "tenant-id": "tenant",
            "subscription-id": "sub",
            "environment": "azurecloud",
        }
    ]
