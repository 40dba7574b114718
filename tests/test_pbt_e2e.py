"""``--scheduler pbt`` end to end: the GAN smoke study under population-based training, with real Ray, MLflow
(SQLite) and MNIST files; the driver SIGKILLed after the first exploit is recorded, then ``--resume`` and the
export.

Synchronous PBT every report (4 reports: a quarter of them), so the population meets at reports 1, 2 and 3.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from record import schema as S
from record.store import client
from tests.conftest import new_sqlite, run_cli
from tests.study_process import children, parents, start, steps, wait_for

pytestmark = pytest.mark.e2e
STUDY = "gan_loss_sweep"
MUTABLE = ("lr_g", "lr_d", "label_smoothing", "instance_noise", "n_critic")
SMALL = ["--max-epochs", "2", "--set", "train_size=512", "--set", "eval_samples=200", "--set", "width=16",
         "--set", "latent_dim=16"]  # 4 reports of 8 D steps: the population and its exploits, little training


def _exploited(uri: str) -> bool:
    return any(S.PBT_EXPLOITS in r.data.tags and r.info.status == "RUNNING" for r in children(uri, STUDY))


@pytest.fixture(scope="module")
def resumed(tmp_path_factory, mnist_root, short_tmp):
    tmp = tmp_path_factory.mktemp("pbt")
    uri, storage, log = new_sqlite(tmp), str(tmp / "ray"), tmp / "first.log"
    env = {"RAY_TMPDIR": str(short_tmp())}
    proc = start([STUDY, "--profile", "smoke", "--scheduler", "pbt", "--data-root", str(mnist_root), "--tracking-uri",
                  uri, "--storage-path", storage, "--no-publish", *SMALL], log, env=env)
    wait_for(lambda: _exploited(uri), proc, 400, log)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started, at once
    proc.wait()
    before = {r.info.run_id: steps(uri, r.info.run_id, "val_fid") for r in children(uri, STUDY)}
    p = run_cli("study.run", STUDY, "--resume", "--storage-path", storage, timeout=600, env=env)
    out = tmp / "export"
    exp = run_cli("analysis.export", STUDY, "--tracking-uri", uri, "--out", str(out), "--data-root", str(mnist_root),
                  "--quiet", timeout=600)
    return p, exp, uri, before, out, log.read_text()


def test_resume_after_sigkill_continues_the_population(resumed):
    p, _, uri, before, _, first = resumed
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "continued from" in first  # the progress view named the exploit
    assert any(len(s) < 4 for s in before.values()), before  # killed mid-study: there was something to continue
    runs = children(uri, STUDY)
    assert len(runs) == 4 and all(r.info.status == "FINISHED" and r.data.tags[S.STATUS] == S.FINISHED for r in runs)
    for r in runs:
        done = steps(uri, r.info.run_id, "val_fid")
        assert done == [1, 2, 3, 4], (r.data.tags[S.TRIAL_ID], done)  # none repeated, none missing
        assert done[:len(before[r.info.run_id])] == before[r.info.run_id]  # continued, not restarted
    (parent,) = parents(uri, STUDY)
    assert parent.info.status == "FINISHED" and parent.data.params[S.SCHEDULER] == "pbt"
    assert parent.data.params[S.PBT_MUTATIONS] == "lr_g,lr_d,label_smoothing,instance_noise,n_critic"


def test_each_exploit_is_recorded_with_its_donor_and_new_values(resumed):
    _, _, uri, _, _, _ = resumed
    runs = children(uri, STUDY)
    by_trial = {r.data.tags[S.TRIAL_ID]: r for r in runs}
    exploited = [r for r in runs if S.PBT_EXPLOITS in r.data.tags]
    assert exploited
    c = client(uri)
    for r in exploited:
        events = json.loads(r.data.tags[S.PBT_LINEAGE])
        assert int(r.data.tags[S.PBT_EXPLOITS]) == len(events) >= 1
        histories = {k: {m.step: m.value for m in c.get_metric_history(r.info.run_id, S.pbt_value(k))}
                     for k in MUTABLE}
        for e in events:
            assert e["donor_trial"] in by_trial and e["donor_trial"] != r.data.tags[S.TRIAL_ID]
            assert e["donor_run"] == by_trial[e["donor_trial"]].info.run_id and 1 <= e["report"] <= 3
            # the step-indexed record: what the trial trained with after the copy is what the lineage says
            for key, value in e["changed"].items():
                if key in histories:  # a key PBT changes (the others were copied with the weights)
                    assert histories[key][e["report"] + 1] == pytest.approx(float(value)), (key, histories[key])
        # and the report before a trial's first copy shows what it trained with before: another member's values,
        # drawn apart on continuous ranges, so some key moves (a later copy of the same donor, perturbed by the
        # same factors, can move none)
        first = events[0]["report"]
        assert any(h[first] != pytest.approx(h[first + 1]) for h in histories.values()), histories
    for r in runs:  # every trial's schedule, report by report
        assert steps(uri, r.info.run_id, S.pbt_value("lr_g")) == [1, 2, 3, 4]


def test_the_best_configuration_is_the_one_its_kept_checkpoint_trained_with(resumed):
    """PBT changes a trial's configuration while it trains: the study's best configuration (the parent's best.*
    params) is the one at the best trial's kept report (study.best._kept_config), not the one it started with."""
    _, _, uri, _, _, _ = resumed
    (parent,) = parents(uri, STUDY)
    c = client(uri)
    best = parent.data.tags[S.BEST_RUN_ID]
    fid = {m.step: m.value for m in c.get_metric_history(best, "val_fid")}
    kept = min(fid, key=fid.get)  # gan_loss_sweep minimises val_fid; the checkpoint of its best report is kept
    for key in ("lr_g", "lr_d"):
        trained = {m.step: m.value for m in c.get_metric_history(best, S.pbt_value(key))}[kept]
        assert float(parent.data.params[S.BEST_PREFIX + key]) == pytest.approx(trained), (key, kept)


def test_export_draws_the_schedule_and_lists_the_exploits(resumed):
    _, exp, _, _, out, _ = resumed
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    html = (out / "report.html").read_text()
    assert "Population-based training" in html and "PBT exploits" in html
    assert (out / "figures" / "pbt_schedule.png").stat().st_size > 10_000
    assert (out / "pbt_lineage.csv").read_text().count("\n") >= 2  # a header and an exploit
