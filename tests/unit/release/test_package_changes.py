"""A deployment's packages read from its log (the emulator's listing as its instances write it, pip's
installs as a container that installs at start prints them), and what a release changes in them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rollout.azureml.environment_packages import package_name, parse_packages
from rollout.emulator.environments import BuiltEnvironment
from rollout.emulator.instances import logs
from rollout.emulator.instances.runtime import describe
from rollout.release.history import Entry, package_diff
from rollout.release.package_changes import PackageChange
from rollout.report.contents import Recorded, build_report
from rollout.report.markdown import to_markdown

LIVE = ["numpy==2.3.5", "pandas==2.3.3", "scikit-learn==1.5.2", "skops==0.11.0", "threadpoolctl==3.6.0"]
CANDIDATE = ["lightgbm==4.6.0", "numpy==2.3.5", "pandas==2.3.3", "scikit_learn==1.9.1", "skops==0.11.0"]


def _instance_log(tmp_path: Path, resolved: list[str]) -> str:
    """Two instances' logs as get_logs returns them: each starts with the environment's listing."""
    environment = BuiltEnvironment(tmp_path, tmp_path / "bin" / "python", resolved, "k3y", [])
    paths = []
    for index in range(2):
        path = tmp_path / f"inference-server-1-{index}.log"
        logs.append(path, f"starting instance {index}\n" + "\n".join(describe(environment)))
        path.write_text(path.read_text() + "INFO POST /score 200\nEnvironment x (y): 1 packages\n  bogus\n")
        paths.append(path)
    return logs.tails(paths, None)


def test_the_emulators_listing_is_read_whole_from_a_log_of_several_instances(tmp_path: Path) -> None:
    many = [f"package{n}==1.{n}" for n in range(20)]  # over several lines of the listing
    assert parse_packages(_instance_log(tmp_path, many)) == sorted(many, key=package_name)


def test_pips_installs_are_read_when_there_is_no_listing_and_a_later_install_wins() -> None:
    log = (
        "Collecting scikit-learn==1.5.2\n"
        "Successfully installed joblib-1.4.2 scikit-learn-1.5.2 threadpoolctl-3.5.0\n"
        "Successfully installed scikit_learn-1.5.1\n"
    )
    assert parse_packages(log) == ["joblib==1.4.2", "scikit_learn==1.5.1", "threadpoolctl==3.5.0"]


def test_a_log_without_packages_gives_none() -> None:
    assert parse_packages("Users's init has completed successfully\nPOST /score 200\n") is None


def _deploy(candidate: str, packages: list[str] | None) -> Entry:
    ended = "2026-01-01T00:00:00+00:00"
    return Entry("m@x", "ep", "deploy", "deploy", "done", ended, candidate, None, packages=packages)


def test_the_diff_names_changed_added_and_removed_packages_by_normalised_name() -> None:
    history = [_deploy("green", ["scikit-learn==1.0"]), _deploy("blue", LIVE), _deploy("green", CANDIDATE)]
    diff = package_diff(history, "blue", "green")
    assert diff.changes == [
        PackageChange("lightgbm", None, "4.6.0"),
        PackageChange("scikit-learn", "1.5.2", "1.9.1"),
        PackageChange("threadpoolctl", "3.6.0", None),
    ]
    assert diff.same == 3
    assert diff.summary() == (
        "packages blue -> green: lightgbm (none) -> 4.6.0, scikit-learn 1.5.2 -> 1.9.1, "
        "threadpoolctl 3.6.0 -> (none)"
    )


def test_the_diff_says_when_packages_are_the_same_or_were_not_recorded() -> None:
    same = [_deploy("blue", LIVE), _deploy("green", LIVE)]
    same_line = "packages: green installs the same 5 packages as blue"
    assert package_diff(same, "blue", "green").summary() == same_line
    unknown_live = [_deploy("blue", None), _deploy("green", CANDIDATE)]
    assert package_diff(unknown_live, "blue", "green").summary() == (
        "packages: not recorded for blue, the live deployment"
    )
    assert package_diff([], "blue", "green").unknown == "not recorded for green"
    assert package_diff(same, None, "green").summary() == "packages of green: nothing live to compare with"


def test_the_report_names_the_changes_recorded_up_to_the_releases_deploy() -> None:
    live = replace(_deploy("blue", LIVE), release="m:1@blue")
    candidate = replace(_deploy("green", CANDIDATE), release="m:2@green", live="blue")
    later = replace(_deploy("blue", CANDIDATE), release="m:3@blue", live="green")
    report = build_report(Recorded("ep", [live, candidate, later]), [], release="m:2@green")
    line = "packages blue -> green: lightgbm (none) -> 4.6.0, scikit-learn 1.5.2 -> 1.9.1, threadpoolctl"
    assert report.packages is not None and report.packages.summary().startswith(line)
    assert line in to_markdown(report)


def test_a_slots_earlier_release_says_nothing_of_the_model_it_serves_now() -> None:
    earlier = replace(_deploy("green", LIVE), release="m:2@green")
    live = replace(_deploy("blue", LIVE), release="m:3@blue")
    # m:4 went into green and failed before its packages were recorded: green's m:2 record is stale
    serving = {"green": "m:4", "blue": "m:3"}
    assert package_diff([earlier, live], "blue", "green", serving).unknown == "not recorded for green"
    now = replace(_deploy("green", CANDIDATE), release="m:4@green")
    assert package_diff([earlier, live, now], "blue", "green", serving).same == 3
