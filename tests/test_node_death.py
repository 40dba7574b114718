"""A worker node that dies mid-trial on the loopback two-node cluster: its trial continues on the head from its
last checkpoint, no report is logged twice in MLflow, and the study finishes."""

from __future__ import annotations

import pytest

from record import schema as S
from tests.cluster import NODE_IP, MlflowServer, RayCluster
from tests.study_process import children, parents, start, steps, wait_for

pytestmark = pytest.mark.e2e


def _on_worker_with(uri: str, reports: int) -> bool:
    return any(r.info.status == "RUNNING" and r.data.tags.get(S.NODE_IP) == NODE_IP
               and int(r.data.tags.get(S.REPORTS_RUN, 0)) >= reports for r in children(uri))


def test_a_dead_worker_node_s_trial_continues_on_the_head(tmp_path, mnist_root):
    log = tmp_path / "study.log"
    with RayCluster(tmp_path) as cluster, MlflowServer(tmp_path) as server:
        proc = start(["vae_beta_sweep", "--profile", "smoke", "--data-root", str(mnist_root), "--address",
                      cluster.address, "--tracking-uri", server.uri, "--storage-path", str(tmp_path / "ray"),
                      "--num-samples", "2", "--max-epochs", "6", "--set", "arch=mlp", "--set", "train_size=12000",
                      "--scheduler", "fifo", "--confirm", "0", "--no-publish"], log, env={"RAY_AUTH_MODE": "disabled"})
        wait_for(lambda: _on_worker_with(server.uri, 2), proc, 300, log)
        killed = cluster.kill_worker_node()
        assert killed, "no worker-node process found"
        assert proc.wait(timeout=900) == 0, log.read_text()[-4000:]
        runs = children(server.uri)
        assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
        for r in runs:
            done = steps(server.uri, r.info.run_id, "val_nelbo")
            assert done == list(range(1, 7)), f"{r.data.tags[S.TRIAL_ID]} logged {done}"  # each report once
        moved = [r for r in runs if r.data.tags.get(S.NODE_IP) != NODE_IP]
        assert len(moved) == 2  # both ended on the head: the dead node's trial went on there
        assert parents(server.uri)[0].info.status == "FINISHED"
