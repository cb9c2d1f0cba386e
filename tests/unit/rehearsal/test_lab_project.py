"""The rehearsal lab's copy of a project: the endpoint renamed, the plan changed only as asked."""

from __future__ import annotations

from pathlib import Path

import yaml

from rollout.project.loading import load_project
from rollout.rehearsal.lab import lab_project, stages_baking

REPO = Path(__file__).resolve().parents[3]


def test_the_copy_renames_the_endpoint_and_keeps_the_shipped_settings(tmp_path: Path) -> None:
    project = lab_project(REPO, tmp_path / "copy", "rh-scenario")
    loaded, shipped = load_project(project), load_project(REPO)
    assert loaded.endpoint.name == "rh-scenario"
    for part in ("model", "stages", "analysis", "output"):
        assert getattr(loaded.plan, part) == getattr(shipped.plan, part), part
    for slot in ("blue", "green"):
        spec = yaml.safe_load((project / "deployments" / f"{slot}.yml").read_text())
        shipped_spec = yaml.safe_load((REPO / "deployments" / f"{slot}.yml").read_text())
        assert spec == {**shipped_spec, "endpoint_name": "rh-scenario"}
    assert "rh-scenario" in (project / ".github/workflows/release.yml").read_text()


def test_plan_changes_replace_top_level_entries_and_the_workflows_follow(tmp_path: Path) -> None:
    stages = [{"name": "all", "traffic": 100, "bake": "2s", "environment": "production"}]
    project = lab_project(REPO, tmp_path / "copy", "rh-scenario", changes={"stages": stages})
    plan = load_project(project).plan
    assert [(s.name, s.traffic, s.bake_seconds) for s in plan.stages] == [("all", 100, 2)]
    assert plan.analysis == load_project(REPO).plan.analysis
    release = (project / ".github/workflows/release.yml").read_text()
    assert "stage-all:" in release and "stage-canary:" not in release


def test_a_rehearsal_shortens_every_bake_in_its_copy_of_the_plan(tmp_path: Path) -> None:
    # a traffic stage's workflow job takes no shorter bake from ROLLOUT_BAKE: the copy's plan has it
    changes = stages_baking(REPO, "3s")
    project = lab_project(REPO, tmp_path / "copy", "rh-scenario", changes=changes)
    plan, shipped = load_project(project).plan, load_project(REPO).plan
    assert [(s.name, s.bake_seconds) for s in plan.stages] == [(s.name, 3) for s in shipped.stages]
    assert [s.environment for s in plan.stages] == [s.environment for s in shipped.stages]


def test_repository_changes_set_the_pin_or_leave_it_alone(tmp_path: Path) -> None:
    from rollout.rehearsal.repository import pin_to, touch_plan_comment

    project = lab_project(REPO, tmp_path / "copy", "rh-scenario")
    pin_to(7)(project)
    assert load_project(project).plan.model.version == 7
    before = (project / "deployments" / "release.yml").read_text()
    touch_plan_comment()(project)
    after = (project / "deployments" / "release.yml").read_text()
    assert after.startswith(before) and after != before
    assert load_project(project).plan.model.version == 7


def test_the_lab_trains_and_registers_the_demo_versions_in_its_own_registry(tmp_path: Path) -> None:
    from rollout import registry
    from rollout.rehearsal.lab import MODEL, Lab

    lab = Lab(tmp_path / "home")
    assert lab.register_demo_versions((2,)) == [1]
    client = registry.client(lab.registry_uri)
    versions = {int(v.version) for v in client.search_model_versions(f"name = '{MODEL}'")}
    assert versions == {1}
    assert lab.artifacts_dir.is_dir()  # the registry's copies live in the lab, not the user's home
