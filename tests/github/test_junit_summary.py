"""`rollout workflow junit-summary`: the acceptance report as a job summary table."""

from __future__ import annotations

from pathlib import Path

REPORT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests">
  <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="3.25">
    <testcase classname="tests.acceptance.test_candidate" name="test_samples_validate" time="0.1"/>
    <testcase classname="tests.acceptance.test_candidate" name="test_one_prediction_per_row" time="0.2"/>
    <testcase classname="tests.acceptance.test_candidate" name="test_agreement" time="1.0">
      <failure message="assert 0.82 &gt;= 0.9 | agreement too low">details</failure>
    </testcase>
    <testcase classname="tests.acceptance.test_candidate" name="test_latency" time="1.0">
      <error message="ConnectError: connection refused">trace</error>
    </testcase>
    <testcase classname="tests.acceptance.test_candidate" name="test_oversized" time="0.0">
      <skipped message="not on this target"/>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_summary_counts_and_lists_failures(workflow_cli, tmp_path: Path):
    report = tmp_path / "acceptance.xml"
    report.write_text(REPORT)
    summary = tmp_path / "summary.md"
    summary.write_text("## Acceptance suite: failure\n")

    result = workflow_cli("junit-summary", str(report), env={"GITHUB_STEP_SUMMARY": str(summary)})

    assert result.exit_code == 0, result.output
    text = summary.read_text()
    assert text.startswith("## Acceptance suite: failure\n### Acceptance suite\n")
    assert "| 5 | 2 | 1 | 1 | 1 | 3.2 s |" in text
    assert (
        "| failure | `tests.acceptance.test_candidate.test_agreement` | assert 0.82 >= 0.9 \\| agreement"
        in text
    )
    assert (
        "| error | `tests.acceptance.test_candidate.test_latency` | ConnectError: connection refused |"
        in text
    )
    assert "test_oversized" not in text
    assert result.stdout.strip() == text.split("\n", 1)[1].strip()


def test_missing_report_is_one_line(workflow_cli, tmp_path: Path):
    result = workflow_cli("junit-summary", str(tmp_path / "none.xml"))

    assert result.exit_code == 1
    assert result.stderr == f"error: JUnit report not found: {tmp_path / 'none.xml'}\n"
