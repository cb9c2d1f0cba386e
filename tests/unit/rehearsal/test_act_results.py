"""Reading act's JSON log into per-job results, and the stand-ins that replace third-party actions."""

from __future__ import annotations

from pathlib import Path

from rollout.rehearsal import act, repository
from rollout.rehearsal.act import parse_act_json

REPO = Path(__file__).resolve().parents[3]


def test_act_json_is_read_into_jobs_steps_outputs_and_summaries() -> None:
    workflow = {
        "jobs": {
            "deploy": {"outputs": {"candidate": "${{ steps.deploy.outputs.candidate }}"}},
            "later": {},
        }
    }
    lines = [
        "not json",
        '{"jobID": "deploy", "job": "Deploy", "time": "2026-01-01T00:00:00Z", "msg": "start"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "command": "set-output", "name": "candidate", "arg": '
        '"green"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "raw_output": true, "msg": "deployed\\n"}',
        '{"jobID": "deploy", "stepID": ["deploy"], "stage": "Main", "stepResult": "success"}',
        '{"jobID": "deploy", "stepID": ["s"], "command": "summary", "content": "## Deploy\\n"}',
        '{"jobID": "deploy", "time": "2026-01-01T00:00:07Z", "jobResult": "success"}',
    ]
    jobs = parse_act_json(lines, workflow)
    assert jobs["deploy"].result == "success"
    assert jobs["deploy"].outputs == {"candidate": "green"}
    assert jobs["deploy"].steps == {"deploy": "success"}
    assert jobs["deploy"].summary == "## Deploy\n"
    assert jobs["deploy"].log == ["deployed"]
    assert jobs["deploy"].seconds == 7
    assert jobs["later"].result == "skipped"


def test_every_pinned_third_party_action_but_checkout_has_a_stand_in() -> None:
    substituted = act.local_repositories(REPO / repository.STAND_INS)
    assert {value.split("@")[0] for value in substituted} == {
        "actions/setup-python",
        "azure/login",
        "actions/upload-artifact",
    }
