"""Each validation rule, on a copy of the shipped project broken in one place: the exact problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rollout.project.validation import validate_project

ENDPOINT = "endpoints/heart-classifier.yml"
BLUE = "deployments/blue.yml"
GREEN = "deployments/green.yml"
PLAN = "deployments/release.yml"
SAMPLE = "samples/sample.json"


def edit(root: Path, file: str, old: str, new: str) -> None:
    """Replace the first `old` in `root/file` with `new` (which must be there)."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    return [str(problem) for problem in validate_project(root, check_drift=False).problems]


def with_traffic(block: str) -> tuple[str, str, str]:
    """An edit of the endpoint spec that adds a traffic / mirror_traffic block."""
    return (ENDPOINT, "auth_mode: key\n", f"auth_mode: key\n{block}")


NOT_ENDPOINT = "does not match the name of the endpoint in endpoints/heart-classifier.yml"

# (id, file, old text, new text, exact problems)
CASES = [
    # endpoint and deployment names (Azure: 3-32 characters, letter first, letters/digits/dashes)
    (
        "endpoint-name-too-short",
        ENDPOINT,
        "name: heart-classifier",
        "name: hc",
        [
            f"{ENDPOINT}: name: 'hc' must be 3 to 32 characters long (it has 2)",
            f"{BLUE}: endpoint_name: 'heart-classifier' {NOT_ENDPOINT}, 'hc'",
            f"{GREEN}: endpoint_name: 'heart-classifier' {NOT_ENDPOINT}, 'hc'",
        ],
    ),
    (
        "endpoint-name-pattern",
        ENDPOINT,
        "name: heart-classifier",
        "name: heart_classifier",
        [
            f"{ENDPOINT}: name: 'heart_classifier' must start with a letter, contain only letters, digits "
            "and dashes, and end with a letter or digit",
            f"{BLUE}: endpoint_name: 'heart-classifier' {NOT_ENDPOINT}, 'heart_classifier'",
            f"{GREEN}: endpoint_name: 'heart-classifier' {NOT_ENDPOINT}, 'heart_classifier'",
        ],
    ),
    (
        "deployment-name-too-short",
        BLUE,
        "name: blue",
        "name: b",
        [
            f"{BLUE}: name: 'b' must be 3 to 32 characters long (it has 1)",
            f"{BLUE}: name: 'b' must equal its slot's name 'blue' in {PLAN}",
        ],
    ),
    (
        "deployment-name-too-long",
        GREEN,
        "name: green",
        "name: green" + "x" * 28,
        [
            f"{GREEN}: name: 'green{'x' * 28}' must be 3 to 32 characters long (it has 33)",
            f"{GREEN}: name: 'green{'x' * 28}' must equal its slot's name 'green' in {PLAN}",
        ],
    ),
    (
        "deployment-name-ends-with-dash",
        BLUE,
        "name: blue",
        "name: blue-",
        [
            f"{BLUE}: name: 'blue-' must start with a letter, contain only letters, digits and dashes, "
            "and end with a letter or digit",
            f"{BLUE}: name: 'blue-' must equal its slot's name 'blue' in {PLAN}",
        ],
    ),
    # the SDK's own offline checks, as problems
    (
        "endpoint-auth-mode",
        ENDPOINT,
        "auth_mode: key",
        "auth_mode: keyz",
        [f"{ENDPOINT}: auth_mode: Value 'keyz' passed is not in set ['aml_token', 'key', 'aad_token']"],
    ),
    (
        "endpoint-unknown-field",
        ENDPOINT,
        "auth_mode: key",
        "auth_mode: key\nbogus: 1",
        [f"{ENDPOINT}: bogus: Unknown field."],
    ),
    (
        "deployment-instance-count",
        GREEN,
        "instance_count: 1",
        "instance_count: two",
        [f"{GREEN}: instance_count: Not a valid integer."],
    ),
    (
        "deployment-request-timeout",
        GREEN,
        "request_timeout_ms: 5000",
        "request_timeout_ms: abc",
        [f"{GREEN}: request_settings.request_timeout_ms: Not a valid integer."],
    ),
    (
        "deployment-without-name",
        GREEN,
        "name: green\n",
        "",
        [f"{GREEN}: name: Missing data for required field."],
    ),
    # each deployment belongs to the endpoint and serves the pinned model
    (
        "deployment-endpoint-name",
        GREEN,
        "endpoint_name: heart-classifier",
        "endpoint_name: other-endpoint",
        [f"{GREEN}: endpoint_name: 'other-endpoint' {NOT_ENDPOINT}, 'heart-classifier'"],
    ),
    (
        "deployment-model-not-a-reference",
        GREEN,
        "model: azureml:heart-classifier:1",
        "model: heart-classifier.pkl",
        [
            f"{GREEN}: model: must reference a registered model as azureml:<name>:<version> (got "
            "'heart-classifier.pkl')"
        ],
    ),
    (
        "deployment-model-not-the-pinned-one",
        GREEN,
        "model: azureml:heart-classifier:1",
        "model: azureml:other-model:1",
        [f"{GREEN}: model: model 'other-model' is not the model {PLAN} pins, 'heart-classifier'"],
    ),
    # endpoint traffic and mirror traffic
    (
        "traffic-sums-to-90",
        *with_traffic("traffic:\n  blue: 90\n  green: 0\n"),
        [f"{ENDPOINT}: traffic: percentages must sum to 0 or 100 (they sum to 90)"],
    ),
    (
        "traffic-sums-to-110",
        *with_traffic("traffic:\n  blue: 90\n  green: 20\n"),
        [f"{ENDPOINT}: traffic: percentages must sum to 0 or 100 (they sum to 110)"],
    ),
    (
        "traffic-to-unknown-deployment",
        *with_traffic("traffic:\n  blue: 100\n  purple: 0\n"),
        [
            f"{ENDPOINT}: traffic.purple: 'purple' is not a deployment of this endpoint (its slots: blue, "
            "green)"
        ],
    ),
    (
        "traffic-not-a-number",
        *with_traffic("traffic:\n  blue: abc\n"),
        [f"{ENDPOINT}: traffic.blue: must be a whole percent from 0 to 100 (got 'abc')"],
    ),
    (
        "mirror-to-two-deployments",
        *with_traffic("traffic:\n  blue: 100\nmirror_traffic:\n  green: 10\n  blue: 10\n"),
        [
            f"{ENDPOINT}: mirror_traffic: at most one deployment may receive mirrored traffic (got 2: "
            "green, blue)",
            f"{ENDPOINT}: mirror_traffic.blue: 'blue' takes live traffic (100%), so it cannot also receive "
            "mirrored traffic",
        ],
    ),
    (
        "mirror-over-50",
        *with_traffic("traffic:\n  blue: 100\nmirror_traffic:\n  green: 60\n"),
        [f"{ENDPOINT}: mirror_traffic.green: at most 50 percent can be mirrored (got 60)"],
    ),
    (
        "mirror-to-live-deployment",
        *with_traffic("traffic:\n  blue: 100\nmirror_traffic:\n  blue: 10\n"),
        [
            f"{ENDPOINT}: mirror_traffic.blue: 'blue' takes live traffic (100%), so it cannot also receive "
            "mirrored traffic"
        ],
    ),
    (
        "mirror-to-unknown-deployment",
        *with_traffic("mirror_traffic:\n  purple: 10\n"),
        [
            f"{ENDPOINT}: mirror_traffic.purple: 'purple' is not a deployment of this endpoint (its slots: "
            "blue, green)"
        ],
    ),
    (
        "mirror-not-a-mapping",
        *with_traffic("mirror_traffic: 10\n"),
        [f"{ENDPOINT}: mirror_traffic: must be a mapping of deployment name to percent"],
    ),
    # the release plan: model pin
    (
        "pin-version-zero",
        PLAN,
        "version: 2",
        "version: 0",
        [f"{PLAN}: model.version: must be a positive integer (got 0)"],
    ),
    (
        "pin-version-not-a-number",
        PLAN,
        "version: 2",
        "version: 2a",
        [f"{PLAN}: model.version: must be a positive integer (got '2a')"],
    ),
    (
        "pin-name-pattern",
        PLAN,
        "name: heart-classifier",
        "name: heart classifier",
        [
            f"{PLAN}: model.name: 'heart classifier' is not a valid model name: use at most 255 letters, "
            "digits, "
            "'-', '_' and '.', starting with a letter or digit",
            f"{BLUE}: model: model 'heart-classifier' is not the model {PLAN} pins, 'heart classifier'",
            f"{GREEN}: model: model 'heart-classifier' is not the model {PLAN} pins, 'heart classifier'",
        ],
    ),
    (
        "pin-missing",
        PLAN,
        "model:\n  name: heart-classifier\n  version: 2\n",
        "",
        [f"{PLAN}: model: is required"],
    ),
    # stages
    (
        "stages-not-increasing",
        PLAN,
        "traffic: 50",
        "traffic: 10",
        [f"{PLAN}: stages[2].traffic: must be greater than the previous stage's 10 (got 10)"],
    ),
    (
        "last-stage-not-100",
        PLAN,
        "traffic: 100",
        "traffic: 90",
        [f"{PLAN}: stages[3].traffic: the last stage must send 100 percent to the candidate (got 90)"],
    ),
    (
        "stage-percent-zero",
        PLAN,
        "traffic: 10",
        "traffic: 0",
        [f"{PLAN}: stages[1].traffic: Input should be greater than or equal to 1 (got 0)"],
    ),
    (
        "stage-percent-over-100",
        PLAN,
        "traffic: 100",
        "traffic: 150",
        [f"{PLAN}: stages[3].traffic: Input should be less than or equal to 100 (got 150)"],
    ),
    (
        "stage-names-repeat",
        PLAN,
        "name: half",
        "name: canary",
        [f"{PLAN}: stages[2].name: 'canary' is also the name of stages[1]"],
    ),
    (
        "stage-bake-unparsable",
        PLAN,
        "bake: 5m\n    environment: canary",
        "bake: 5 minutes\n    environment: canary",
        [
            f"{PLAN}: stages[1].bake: '5 minutes' is not a duration: use seconds or number-unit parts, "
            "such as 90, 30s, 5m or 1h30m"
        ],
    ),
    (
        "retire-after-not-whole-minutes",
        PLAN,
        "# Canary analysis:",
        "retire_after: 90s\n# Canary analysis:",
        [
            f"{PLAN}: retire_after: must be whole minutes, at most 720h (GitHub's longest environment "
            "wait timer, which holds the retire job): got '90s'"
        ],
    ),
    (
        "lock-lease-out-of-range",
        PLAN,
        "# Canary analysis:",
        "lock:\n  lease: 2m\n# Canary analysis:",
        [
            f"{PLAN}: lock.lease: a lease lasts 15 to 60 whole seconds (Azure Storage's finite leases): "
            "got '2m'"
        ],
    ),
    (
        "lock-account-not-https",
        PLAN,
        "# Canary analysis:",
        "lock:\n  account_url: http://teamlocks.blob.core.windows.net\n# Canary analysis:",
        [
            f"{PLAN}: lock.account_url: must be an https URL of a storage account's blob service: got "
            "'http://teamlocks.blob.core.windows.net'"
        ],
    ),
    (
        "stage-environment-name",
        PLAN,
        "environment: production\n",
        "environment: prod/eu\n",
        [
            f"{PLAN}: stages[3].environment: 'prod/eu' is not a valid GitHub environment name: use at most "
            "255 "
            "letters, digits, spaces, '.', '-' and '_', starting with a letter or digit"
        ],
    ),
    # shadow stages
    (
        "mirror-over-50",
        PLAN,
        "mirror: 50",
        "mirror: 60",
        [f"{PLAN}: stages[0].mirror: Azure mirrors between 1 and 50 percent of live requests (got 60)"],
    ),
    (
        "traffic-and-mirror",
        PLAN,
        "mirror: 50\n",
        "mirror: 50\n    traffic: 5\n",
        [
            f"{PLAN}: stages[0]: a stage has exactly one of `traffic` (the candidate's share of live "
            "traffic) and `mirror` (the share of live requests copied to it, a shadow stage)"
        ],
    ),
    (
        "neither-traffic-nor-mirror",
        PLAN,
        "    mirror: 50\n",
        "",
        [
            f"{PLAN}: stages[0]: a stage has exactly one of `traffic` (the candidate's share of live "
            "traffic) and `mirror` (the share of live requests copied to it, a shadow stage)"
        ],
    ),
    (
        "shadow-after-a-traffic-stage",
        PLAN,
        "    traffic: 50\n",
        "    mirror: 20\n",
        [
            f"{PLAN}: stages[2].mirror: a shadow stage comes before every traffic stage: the candidate "
            "takes live traffic from stage 'canary' on, and Azure never mirrors to a deployment with "
            "live traffic"
        ],
    ),
    (
        "shadow-last",
        PLAN,
        "    traffic: 100\n",
        "    mirror: 20\n",
        [
            f"{PLAN}: stages[3].mirror: a shadow stage comes before every traffic stage: the candidate "
            "takes live traffic from stage 'canary' on, and Azure never mirrors to a deployment with "
            "live traffic",
            f"{PLAN}: stages[3]: the last stage must send 100 percent to the candidate (a shadow stage "
            "moves no traffic)",
        ],
    ),
    # analysis limits
    (
        "analysis-error-rate-over-1",
        PLAN,
        "max_error_rate: 0.01",
        "max_error_rate: 1.5",
        [f"{PLAN}: analysis.max_error_rate: Input should be less than or equal to 1 (got 1.5)"],
    ),
    (
        "analysis-confidence-1",
        PLAN,
        "confidence: 0.95",
        "confidence: 1",
        [f"{PLAN}: analysis.confidence: Input should be less than 1 (got 1)"],
    ),
    (
        "analysis-min-requests-word",
        PLAN,
        "min_requests: 100",
        "min_requests: many",
        [f"{PLAN}: analysis.min_requests: Input should be a valid integer (got 'many')"],
    ),
    # the output contract
    (
        "output-field-of-another-kind",
        PLAN,
        "  labels: [0, 1]\n",
        "  labels: [0, 1]\n  min: 0\n",
        [f"{PLAN}: output: min does not apply to kind labels"],
    ),
    (
        "output-unknown-kind",
        PLAN,
        "  kind: labels\n",
        "  kind: scores\n",
        [f"{PLAN}: output.kind: Input should be 'labels', 'numbers' or 'probabilities' (got 'scores')"],
    ),
    (
        "plan-unknown-field",
        PLAN,
        "stages:\n",
        "stagez: 1\nstages:\n",
        [f"{PLAN}: stagez: is not a field of the release plan"],
    ),
    # the endpoint and the slots the plan names
    (
        "endpoint-file-missing",
        PLAN,
        "endpoint: ../endpoints/heart-classifier.yml",
        "endpoint: ../endpoints/nope.yml",
        [f"{PLAN}: endpoint: ../endpoints/nope.yml does not exist"],
    ),
    (
        "slot-file-missing",
        PLAN,
        "green: green.yml",
        "green: purple.yml",
        [
            f"{PLAN}: slots.green: purple.yml does not exist",
            f"{PLAN}: slots: {GREEN} is a deployment spec but not one of the slots",
        ],
    ),
    (
        "one-slot",
        PLAN,
        "  green: green.yml\n",
        "",
        [
            f"{PLAN}: slots: a release needs exactly 2 slots (got 1: blue)",
            f"{PLAN}: slots: {GREEN} is a deployment spec but not one of the slots",
        ],
    ),
    (
        "two-slots-one-file",
        PLAN,
        "green: green.yml",
        "green: blue.yml",
        [
            f"{PLAN}: slots.green: blue.yml is also slot 'blue'",
            f"{PLAN}: slots: {GREEN} is a deployment spec but not one of the slots",
        ],
    ),
    (
        "plan-yaml-syntax",
        PLAN,
        "model:\n",
        "model: [\n",
        [f"{PLAN}: (file): not valid YAML: expected ',' or ']', but got ':' (line 5, column 10)"],
    ),
    # sample requests against the schema
    (
        "sample-unknown-thal",
        SAMPLE,
        '"normal"',
        '"purple"',
        [f"{SAMPLE}: input_data.data[0][12]: 'purple' is not one of ['fixed', 'normal', 'reversible']"],
    ),
    (
        "sample-wrong-type",
        SAMPLE,
        "48,",
        '"48",',
        [f"{SAMPLE}: input_data.data[0][0]: '48' is not of type 'integer'"],
    ),
    (
        "sample-missing-column",
        SAMPLE,
        '"chol",',
        "",
        [
            f"{SAMPLE}: input_data.columns: must be age, sex, cp, trestbps, chol, fbs, restecg, thalach, "
            "exang, "
            "oldpeak, slope, ca, thal, in this order: lacks 'chol'"
        ],
    ),
    (
        "sample-without-input-data",
        SAMPLE,
        "input_data",
        "inputs",
        [
            f"{SAMPLE}: (root): 'input_data' is a required property",
            f"{SAMPLE}: (root): Additional properties are not allowed ('inputs' was unexpected)",
        ],
    ),
    (
        "sample-bad-json",
        SAMPLE,
        "}}",
        "}",
        [f"{SAMPLE}: (file): not valid JSON: Expecting ',' delimiter (line 2, column 1)"],
    ),
]


def test_shipped_project_is_valid(project: Path) -> None:
    assert problems_of(project) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_one_broken_thing(project: Path, file: str, old: str, new: str, expected: list[str]) -> None:
    edit(project, file, old, new)
    assert problems_of(project) == expected


def test_at_least_twenty_broken_files() -> None:
    assert len(CASES) >= 20


def test_no_stages(project: Path) -> None:
    edit(project, PLAN, "stages:\n", "stages: []\nold_stages:\n")
    assert problems_of(project) == [
        f"{PLAN}: stages: List should have at least 1 item after validation, not 0 (got [])",
        f"{PLAN}: old_stages: is not a field of the release plan",
    ]


def test_every_problem_is_reported_not_only_the_first(project: Path) -> None:
    edit(project, PLAN, "version: 2", "version: 0")
    edit(project, BLUE, "name: blue", "name: b")
    edit(project, GREEN, "instance_count: 1", "instance_count: two")
    edit(project, SAMPLE, '"normal"', '"purple"')
    assert problems_of(project) == [
        f"{PLAN}: model.version: must be a positive integer (got 0)",
        f"{BLUE}: name: 'b' must be 3 to 32 characters long (it has 1)",
        f"{BLUE}: name: 'b' must equal its slot's name 'blue' in {PLAN}",
        f"{GREEN}: instance_count: Not a valid integer.",
        f"{SAMPLE}: input_data.data[0][12]: 'purple' is not one of ['fixed', 'normal', 'reversible']",
    ]


def test_deployment_spec_outside_the_slots(project: Path) -> None:
    shutil.copy(project / BLUE, project / "deployments/purple.yml")
    assert problems_of(project) == [
        f"{PLAN}: slots: deployments/purple.yml is a deployment spec but not one of the slots"
    ]


def test_missing_plan(project: Path) -> None:
    (project / PLAN).unlink()
    assert problems_of(project) == [f"{PLAN}: (file): not found"]


def test_empty_endpoint_spec(project: Path) -> None:
    (project / ENDPOINT).write_text("", encoding="utf-8")
    assert problems_of(project) == [f"{ENDPOINT}: (file): must be a YAML mapping of fields (it is empty)"]


def test_missing_schema(project: Path) -> None:
    (project / "samples/sample.schema.json").unlink()
    assert problems_of(project) == [
        "samples/sample.schema.json: (file): not found: generate it with rollout schema --model "
        "models:/<name>/<version>"
    ]


def test_every_sample_file_is_checked(project: Path) -> None:
    sample = json.loads((project / SAMPLE).read_text(encoding="utf-8"))
    sample["input_data"]["data"][0][9] = "high"
    (project / "samples/oldpeak.json").write_text(json.dumps(sample), encoding="utf-8")
    assert problems_of(project) == [
        "samples/oldpeak.json: input_data.data[0][9]: 'high' is not of type 'number'"
    ]


def test_full_traffic_with_mirror_to_the_idle_slot_is_valid(project: Path) -> None:
    edit(project, *with_traffic("traffic:\n  blue: 100\n  green: 0\nmirror_traffic:\n  green: 50\n"))
    assert problems_of(project) == []


SCRIPTED = (
    "code_configuration:\n  code: ../scoring\n  scoring_script: score.py\n"
    "environment:\n  conda_file: ../scoring/conda.yaml\n"
    "  image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py311-cpu-inference:latest\n"
)


def test_a_scoring_script_slot_needs_its_folder_script_and_conda_file(project: Path) -> None:
    edit(project, BLUE, "instance_count: 1\n", f"instance_count: 1\n{SCRIPTED}")
    scoring = project / "scoring"
    scoring.mkdir()
    assert problems_of(project) == [
        f"{BLUE}: code_configuration.scoring_script: score.py is not a file in ../scoring",
        f"{BLUE}: environment: conda_file ../scoring/conda.yaml is not a file (relative to the spec)",
    ]
    (scoring / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    (scoring / "conda.yaml").write_text("name: scoring\ndependencies:\n  - pip:\n      pip: scikit-learn\n")
    assert problems_of(project) == [
        f"{BLUE}: environment: conda_file ../scoring/conda.yaml: "
        "its `pip:` entry is not a list of requirements"
    ]
    (scoring / "conda.yaml").write_text("name: scoring\ndependencies: [python=3.11, pip: [scikit-learn]]\n")
    validation = validate_project(project, check_drift=False)
    assert validation.problems == []
    assert validation.notes == [
        f"{BLUE}: environment.conda_file: its conda file's pip list has no azureml-inference-server-http: "
        "Azure runs a scoring script only where the environment (or its image) has it; the local emulator "
        "builds the pip list only, so the deployment fails there"
    ]
    (scoring / "conda.yaml").write_text(
        "name: scoring\ndependencies: [python=3.11, pip: [scikit-learn, azureml-inference-server-http]]\n"
    )
    assert validate_project(project, check_drift=False).notes == []
    edit(project, BLUE, "code: ../scoring", "code: ../nowhere")
    assert problems_of(project) == [
        f"{BLUE}: code_configuration.code: ../nowhere is not a folder (relative to the spec)"
    ]


def test_a_registered_environment_is_noted_as_not_emulated(project: Path) -> None:
    scripted = SCRIPTED.split("environment:")[0] + "environment: azureml:scoring-env:3\n"
    edit(project, BLUE, "instance_count: 1\n", f"instance_count: 1\n{scripted}")
    (project / "scoring").mkdir()
    (project / "scoring" / "score.py").write_text("def init():\n    pass\n")
    validation = validate_project(project, check_drift=False)
    assert validation.problems == []
    assert validation.notes == [
        f"{BLUE}: environment azureml:scoring-env:3: a registered environment; Azure builds it, the local "
        "emulator refuses it (give the deployment an inline environment, a conda_file, to rehearse it "
        "locally)"
    ]
