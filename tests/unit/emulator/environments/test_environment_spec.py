"""What a deployment's environment is: read from an MLflow model's files (plus what Azure's MLflow
image adds) or from a custom environment's conda file (nothing added)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rollout.emulator.environments import (
    EnvironmentKind,
    EnvironmentNotEmulated,
    EnvironmentSpecInvalid,
    for_custom_environment,
    for_mlflow_model,
    refuse_registered,
)

# what MLflow 3.17 writes beside a scikit-learn model (rollout.demo_model's, verbatim)
PINS = ["mlflow==3.17.2", "scikit-learn==1.9.1", "xgboost-cpu==3.2.0", "skops==0.16.0", "pandas==2.3.3"]
MLMODEL = {
    "flavors": {
        "python_function": {
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "loader_module": "mlflow.sklearn",
            "python_version": "3.11.7",
        }
    },
    "mlflow_version": "3.17.2",
}
SERVER = "azureml-inference-server-http==1.5.1"


def conda_file(pip: list[str], *conda: str, python: str = "3.11.7") -> dict:
    return {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip<=26.3", *conda, {"pip": pip}],
        "name": "mlflow-env",
    }


def write_model(path: Path, files: dict[str, object]) -> Path:
    """An MLflow model directory: MLmodel and the given environment files (dicts as YAML)."""
    path.mkdir(parents=True, exist_ok=True)
    files = {"MLmodel": MLMODEL, **files}
    for name, content in files.items():
        if content is None:
            continue
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        (path / name).write_text(text)
    return path


def mlflow_model(path: Path, pins: list[str] = PINS, **overrides: object) -> Path:
    files: dict[str, object] = {
        "conda.yaml": conda_file(pins),
        "python_env.yaml": {
            "python": "3.11.7",
            "build_dependencies": ["pip==26.3", "setuptools==65.5.0", "wheel"],
            "dependencies": ["-r requirements.txt"],
        },
        "requirements.txt": "\n".join(pins),
        **overrides,
    }
    return write_model(path, files)


def test_an_mlflow_model_gets_its_conda_pins_and_azures_server_and_mlflow_skinny(tmp_path):
    spec = for_mlflow_model(mlflow_model(tmp_path / "model"))
    assert spec.requirements == (*PINS, SERVER, "mlflow-skinny==3.17.2")
    assert (spec.python, spec.kind, spec.warnings) == ("3.11.7", EnvironmentKind.MLFLOW_MODEL, ())
    assert spec.source == f"conda.yaml of {tmp_path / 'model'}"
    assert spec.kind.failure_code == "ResourceNotReady"


def test_conda_yaml_wins_over_a_requirements_txt_that_disagrees(tmp_path):
    model = mlflow_model(tmp_path / "model", **{"requirements.txt": "mlflow==3.17.2\nscikit-learn==1.5.0\n"})
    spec = for_mlflow_model(model)
    assert "scikit-learn==1.9.1" in spec.requirements
    [warning] = spec.warnings
    assert "conda.yaml and requirements.txt disagree" in warning
    assert "conda.yaml only: pandas==2.3.3, scikit-learn==1.9.1, skops==0.16.0, xgboost-cpu==3.2.0" in warning
    assert "requirements.txt only: scikit-learn==1.5.0" in warning
    assert warning.endswith("built from conda.yaml, as Azure reads the conda dependencies")


def test_spelling_and_order_are_no_disagreement(tmp_path):
    model = mlflow_model(
        tmp_path / "model", **{"requirements.txt": "\n".join(reversed(PINS)).replace("-", "_")}
    )
    assert for_mlflow_model(model).warnings == ()


def test_a_python_env_yaml_asking_for_another_python_is_named(tmp_path):
    model = mlflow_model(tmp_path / "model", **{"python_env.yaml": {"python": "3.10.4", "dependencies": []}})
    spec = for_mlflow_model(model)
    assert spec.python == "3.11.7"
    assert spec.warnings == (
        "the model's conda.yaml asks for Python 3.11.7, its python_env.yaml for 3.10.4;"
        " conda.yaml wins, as on Azure",
    )


def test_without_a_conda_file_python_env_yaml_and_its_requirements_are_read(tmp_path):
    model = mlflow_model(tmp_path / "model", **{"conda.yaml": None})
    spec = for_mlflow_model(model)
    assert spec.requirements == (*PINS, SERVER, "mlflow-skinny==3.17.2")
    assert (spec.python, spec.source) == ("3.11.7", f"python_env.yaml of {model}")


def test_requirements_txt_alone_is_built_with_the_python_the_model_was_logged_with(tmp_path):
    model = mlflow_model(tmp_path / "model", **{"conda.yaml": None, "python_env.yaml": None})
    spec = for_mlflow_model(model)
    assert (spec.python, spec.source) == ("3.11.7", f"requirements.txt of {model}")


@pytest.mark.parametrize(
    ("pins", "mlflow_version", "skinny"),
    [
        (["mlflow==3.17.2"], "3.17.2", "mlflow-skinny==3.17.2"),
        (["mlflow<4,>=3.1"], "3.17.2", "mlflow-skinny<4,>=3.1"),
        (["MLflow"], "3.17.2", "mlflow-skinny"),
        (["scikit-learn==1.9.1"], "3.10.0", "mlflow-skinny==3.10.0"),
        (["scikit-learn==1.9.1"], None, "mlflow-skinny"),
    ],
)
def test_mlflow_skinny_follows_the_models_mlflow(tmp_path, monkeypatch, pins, mlflow_version, skinny):
    monkeypatch.setitem(MLMODEL, "mlflow_version", mlflow_version)
    spec = for_mlflow_model(mlflow_model(tmp_path / "model", pins))
    assert spec.requirements == (*pins, SERVER, skinny)


def test_what_the_model_names_itself_is_not_added_again(tmp_path):
    pins = ["mlflow-skinny==3.1.0", "azureml-inference-server-http==1.4.0"]
    assert for_mlflow_model(mlflow_model(tmp_path / "model", pins)).requirements == tuple(pins)


def test_conda_packages_are_taken_from_pypi_with_one_warning(tmp_path):
    conda = conda_file(
        ["mlflow==3.17.2"], "numpy=1.26", "conda-forge::scikit-learn==1.5.2=py311_0", "pytorch>=2"
    )
    spec = for_mlflow_model(mlflow_model(tmp_path / "model", **{"conda.yaml": conda}))
    assert spec.requirements[:4] == ("numpy==1.26.*", "scikit-learn==1.5.2", "torch>=2", "mlflow==3.17.2")
    assert spec.from_conda == ("numpy==1.26.*", "scikit-learn==1.5.2", "torch>=2")
    assert any(
        "conda packages installed from PyPI instead (numpy==1.26.*, scikit-learn==1.5.2, torch>=2)" in w
        for w in spec.warnings
    )


@pytest.mark.parametrize(
    ("conda", "pip"),
    [("numpy", "numpy"), ("numpy 1.21.*", "numpy==1.21.*"), ("numpy=1.21*", "numpy==1.21.*"),
     ("numpy 1.21.2", "numpy==1.21.2"), ("numpy>=1.2,<2", "numpy>=1.2,<2"),
     ("py-xgboost=2.0", "xgboost==2.0.*")],
)  # fmt: skip
def test_conda_versions_in_pips_terms(conda, pip):
    assert for_custom_environment({"dependencies": [conda]}).requirements == (pip,)


def test_conda_system_libraries_are_refused_by_name(tmp_path):
    conda = conda_file(["mlflow==3.17.2"], "numpy", "cudatoolkit=11.8", "libgomp", "openssl")
    with pytest.raises(EnvironmentNotEmulated) as refused:
        for_mlflow_model(mlflow_model(tmp_path / "model", **{"conda.yaml": conda}))
    assert "not Python projects cannot be installed locally (cudatoolkit, libgomp, openssl)" in str(
        refused.value
    )


@pytest.mark.parametrize(
    ("python", "wanted"), [("3.9", "3.9"), ("==3.10.4", "3.10.4"), ("3.12.*", "3.12"), (">=3.8", None)]
)
def test_the_python_a_conda_file_asks_for(python, wanted):
    spec = for_custom_environment({"dependencies": [f"python{'=' if python[0].isdigit() else ''}{python}"]})
    assert spec.python == wanted
    assert bool(spec.warnings) == (wanted is None)


def test_a_custom_environment_gets_its_pip_packages_and_nothing_added(tmp_path):
    path = tmp_path / "env" / "conda.yaml"
    path.parent.mkdir()
    (path.parent / "extra.txt").write_text("six==1.16.0  # a comment\n\n")
    path.write_text(yaml.safe_dump(conda_file(["-r extra.txt", "scikit-learn==1.9.1"], python="3.11")))
    spec = for_custom_environment(path)
    assert spec.requirements == ("six==1.16.0", "scikit-learn==1.9.1")
    assert (spec.python, spec.kind, spec.warnings) == ("3.11", EnvironmentKind.CUSTOM, ())
    assert spec.kind.failure_code == "ImageBuildFailure"


def test_an_images_os_packages_are_said_to_be_out_of_reach():
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"
    spec = for_custom_environment(conda_file(["six==1.16.0"]), image=image)
    assert spec.warnings == (
        f"image {image}: its OS packages and Python are not emulated; the environment is built from the "
        "conda file's pip packages on a local Python",
    )


def test_an_image_alone_or_a_registered_environment_is_refused():
    with pytest.raises(EnvironmentNotEmulated, match="without a conda file"):
        for_custom_environment(None, image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference")
    with pytest.raises(EnvironmentNotEmulated) as refused:
        refuse_registered("azureml:sklearn-env:3")
    assert str(refused.value).startswith(
        "environment azureml:sklearn-env:3: registered environments are not emulated yet"
    )


def test_what_cannot_be_read_is_one_clear_error(tmp_path):
    with pytest.raises(EnvironmentSpecInvalid, match="not an MLflow model"):
        for_mlflow_model(tmp_path)
    with pytest.raises(
        EnvironmentSpecInvalid, match=r"no conda\.yaml, python_env\.yaml or requirements\.txt"
    ):
        for_mlflow_model(write_model(tmp_path / "bare", {}))
    with pytest.raises(EnvironmentSpecInvalid, match="not a conda file"):
        for_mlflow_model(mlflow_model(tmp_path / "listed", **{"conda.yaml": "- python=3.11\n"}))
    with pytest.raises(EnvironmentSpecInvalid, match="cannot be read"):
        for_custom_environment({"dependencies": [{"pip": ["-r missing.txt"]}]})
