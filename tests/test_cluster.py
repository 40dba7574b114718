"""A study on a real two-node Ray cluster logging to a real MLflow tracking server (loopback)."""

import socket

import pytest
from mlflow.tracking import MlflowClient

from tests.cluster import HEAD_IP, MlflowServer, RayCluster
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def test_smoke_study_on_two_nodes_with_tracking_server(tmp_path, mnist_root):
    with RayCluster(tmp_path) as cluster, MlflowServer(tmp_path) as server:
        p = run_cli("study.run", "vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root),
                    "--address", cluster.address, "--tracking-uri", server.uri,
                    "--storage-path", str(tmp_path / "ray"), env={"RAY_AUTH_MODE": "disabled"})
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        client = MlflowClient(server.uri)
        exp = client.get_experiment_by_name("vae_beta_sweep")
        runs = client.search_runs([exp.experiment_id])
        children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        assert len(children) == 6
        nodes = {r.data.tags["node_id"] for r in children}
        assert len(nodes) == 2, f"trials ran on {nodes}"
        for r in children:
            epochs = int(r.data.tags["epochs_run"])
            steps = sorted(m.step for m in client.get_metric_history(r.info.run_id, "test_nelbo"))
            assert steps == list(range(1, epochs + 1))
            assert r.info.status == "FINISHED"
        best = [r for r in runs if r.data.tags.get("role") == "study"][0].data.tags["best_run_id"]
        assert "model.safetensors" in {a.path for a in client.list_artifacts(best)}
        server_proc = server.proc
    assert server_proc.poll() is not None  # the server was shut down
    with pytest.raises(OSError):  # and the Ray head no longer listens
        socket.create_connection((HEAD_IP, cluster.port), timeout=2).close()
