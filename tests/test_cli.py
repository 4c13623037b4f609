"""The lean start-up: what the command and the light modules import, the version, the extras."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import vaednn
from vaednn import cli, extras, reproduce

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "keras")


def run_python(code, *args):
    """Run ``code`` in a fresh interpreter (this checkout first on the path); its stdout."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    return result.stdout


def test_data_help_simulate_and_summary_load_no_backend(tmp_path):
    out = run_python(f"""
        import json, sys
        import vaednn.data
        loaded = {{"import": [m for m in {BACKENDS!r} if m in sys.modules]}}
        from vaednn import cli
        try:
            cli.main(["--help"])
        except SystemExit:
            pass
        loaded["help"] = [m for m in {BACKENDS!r} if m in sys.modules]
        assert cli.main(["-q", "simulate", "--out", sys.argv[1], "--events", "2000",
                         "--bsm-events", "500", "--operators", "cW"]) == 0
        assert cli.main(["summary", "--data", sys.argv[1]]) == 0
        loaded["commands"] = [m for m in {BACKENDS!r} if m in sys.modules]
        print(json.dumps(loaded))
        """, str(tmp_path))
    assert "SSWW_cW_QU" in out
    assert json.loads(out.splitlines()[-1]) == {"import": [], "help": [], "commands": []}


def test_import_vaednn_registers_the_models_once_keras_is_imported():
    # keras.models.load_model finds a class by its registered name; the lookup below is the one
    # it makes. Keras imported after vaednn, before it, and by TensorFlow.
    check = """
        import keras
        registered = keras.saving.get_registered_object("vaednn>VAE")
        from vaednn import models
        assert registered is models.VAE, registered
        print("registered")
        """
    # TensorFlow probes for Keras with find_spec and imports it while it initialises itself.
    for first in ("import vaednn", "import keras\nimport vaednn",
                  "import vaednn.data\nimport tensorflow"):
        assert run_python(first + "\n" + textwrap.dedent(check)).split() == ["registered"]


def test_version_and_python_dash_m(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"vaednn {vaednn.__version__}"
    result = subprocess.run([sys.executable, "-m", "vaednn", "--version"], capture_output=True,
                            text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == f"vaednn {vaednn.__version__}"
    result = subprocess.run([sys.executable, "-m", "vaednn", "simulate", "--events", "-"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "--events: invalid int value" in result.stderr


def test_quiet_silences_the_progress_messages(tmp_path, capsys):
    arguments = ["simulate", "--out", str(tmp_path), "--events", "2000", "--bsm-events", "500",
                 "--operators", "cW"]
    assert cli.main(arguments) == 0
    assert "wrote 3 files" in capsys.readouterr().err
    assert cli.main(["--quiet", *arguments, "--force"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("module", sorted(extras.EXTRAS))
def test_a_missing_extra_names_the_pip_command(module, monkeypatch):
    # A None entry in sys.modules makes the import fail as an absent package does.
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(extras.MissingExtraError,
                       match=rf"the test needs {module}.*pip install 'vaednn\[{extras.EXTRAS[module]}\]'"):
        extras.require(module, "the test")


def test_require_refuses_a_module_that_is_no_extra():
    with pytest.raises(ValueError, match="'numpy' is not an optional dependency"):
        extras.require("numpy", "the test")


def test_commands_report_a_missing_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    config = tmp_path / "scan.yaml"
    config.write_text("models: {vae: {}}\n")
    assert cli.main(["scan", "--config", str(config)]) == 2
    assert "pip install 'vaednn[scan]'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "nbclient", None)
    with pytest.raises(extras.MissingExtraError, match=r"pip install 'vaednn\[notebooks\]'"):
        reproduce.execute(reproduce.notebooks()[0])


def test_explain_without_shap_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "shap", None)
    monkeypatch.delitem(sys.modules, "vaednn.explain", raising=False)
    with pytest.raises(extras.MissingExtraError, match=r"pip install 'vaednn\[explain\]'"):
        importlib.import_module("vaednn.explain")
