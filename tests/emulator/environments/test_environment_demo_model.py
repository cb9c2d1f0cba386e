"""The demo model's no-code environment, built as Azure builds it: its conda.yaml's pins, Azure's
inference server and mlflow-skinny, in an environment of its own."""

from __future__ import annotations

import json
import subprocess

from rollout.emulator.environments import BuildOptions, for_mlflow_model, isolated_environ


def test_the_demo_models_environment_holds_its_pins_and_azures_server(cache, model_cache, progress):
    model_dir = model_cache.demo(1)
    spec = for_mlflow_model(model_dir)
    assert spec.requirements[-2:] == ("azureml-inference-server-http==1.5.1", "mlflow-skinny==3.17.2")
    built = cache.build(spec, BuildOptions(progress=progress.append))
    assert {"scikit-learn==1.9.1", "azureml-inference-server-http==1.5.1", "mlflow-skinny==3.17.2"} <= set(
        built.resolved
    )
    code = (
        "import json, importlib.metadata as m, sklearn;"
        "print(json.dumps([sklearn.__version__, m.version('azureml-inference-server-http')]))"
    )
    answer = subprocess.run(
        [str(built.python), "-c", code], env=isolated_environ(), capture_output=True, text=True, check=True
    )
    assert json.loads(answer.stdout) == ["1.9.1", "1.5.1"]
    assert (
        built.path / "bin" / "azmlinfsrv"
    ).is_file()  # the server's command, relocated with the environment
    assert progress[-1].startswith("installed ") and " packages in " in progress[-1]
