"""A scan by ``--address`` against a head node started with ``ray start --head``.

The head runs on this machine with token authentication (a token file of its own, so the
user's ``~/.ray`` is never touched) in its own process group, which the test ends; a
shared machine's other Ray instances are left alone (no ``ray stop``). The scan reaches it
as ``127.0.0.1:PORT``, the address a user types for a head on their own machine.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from vaednn import scan, simulate

RAY = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
GRID = {"models": {"vae": {"latent_dim": [2, 3]}}, "operators": ["cW"],
        "training": {"epochs": 1}, "resources": {"cpus_per_trial": 1}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def head(tmp_path, monkeypatch):
    """``ray start --head --block`` with a token; yields its address, then stops it."""
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = _free_port()
    # No --node-ip-address 127.0.0.1: Ray's client turns a loopback address into the
    # machine's own IP before connecting, and finds no raylet on a head bound to loopback.
    process = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
         "--include-dashboard=false",
         "--ray-client-server-port", str(_free_port()), "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=os.environ.copy())
    output = []
    try:
        deadline = time.monotonic() + 240
        for line in process.stdout:
            output.append(line)
            if "Ray runtime started" in line:
                break
            assert time.monotonic() < deadline, "ray start --head took over 240 s"
        else:
            pytest.fail("ray start --head failed:\n" + "".join(output[-30:]))
        yield f"127.0.0.1:{port}", token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        # The scan turned token mode on for this process; later tests and the notebook
        # kernels this process starts must not inherit it (monkeypatch restores a user's own).
        os.environ.pop("RAY_AUTH_MODE", None)


def test_scan_by_address_on_a_token_authenticated_head(head, tmp_path, monkeypatch):
    import ray

    address, _ = head
    assert not ray.is_initialized()
    simulate.write_ntuples(tmp_path / "data", operators=("cW",), n_events=1500, n_bsm=1000)
    results = scan.run(GRID, tmp_path / "data", tmp_path / "out", address=address,
                       verbose=False)
    assert not ray.is_initialized()
    assert os.environ["RAY_AUTH_MODE"] == "token"
    assert results["trial_id"].nunique() == 2
    assert (results["status"] == "ok").all(), results["error"].tolist()

    # Without a usable token, in a fresh process (a driver keeps the token it connected with):
    # the command fails fast with one line saying what to set, and exits 2.
    config = tmp_path / "grid.yaml"
    config.write_text(yaml.safe_dump(GRID))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    env["RAY_AUTH_TOKEN_PATH"] = str(tmp_path / "no_such_token")
    start = time.monotonic()
    refused = subprocess.run(
        [sys.executable, "-m", "vaednn", "scan", "--config", str(config), "--data",
         str(tmp_path / "data"), "--out", str(tmp_path / "again"), "--address", address,
         "--no-resume"], capture_output=True, text=True, env=env, timeout=120)
    assert time.monotonic() - start < 60
    assert refused.returncode == 2, refused.stderr[-2000:]
    errors = [line for line in refused.stderr.splitlines()
              if line.startswith(f"vaednn scan: {address}:")]
    assert len(errors) == 1 and "RAY_AUTH_TOKEN" in errors[0], refused.stderr[-2000:]
    assert "Traceback" not in refused.stderr
