"""``--scheduler pb2`` end to end: the GAN smoke study under Population Based Bandits, with real Ray, MLflow (SQLite)
and MNIST files, then the export.

4 reports, the population meeting at reports 1, 2 and 3 (study.pbt.interval). At report 1 no trial has a change of
its metric yet, so an exploit copies the donor's values; from report 2 on, the Gaussian-process bandit chooses them.
"""

from __future__ import annotations

import json

import pytest

from record import schema as S
from record.store import client
from search_spaces import STUDIES
from tests.conftest import run_cli
from tests.study_process import children, parents, steps

pytestmark = pytest.mark.e2e
STUDY = "gan_loss_sweep"
MUTATIONS = STUDIES[STUDY].mutations
SMALL = ["--max-epochs", "2", "--set", "train_size=512", "--set", "eval_samples=200", "--set", "width=16",
         "--set", "latent_dim=16"]  # as tests/test_pbt_e2e.py: 4 reports of 8 D steps


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_root, short_tmp):
    tmp = tmp_path_factory.mktemp("pb2")
    uri, out = f"sqlite:///{tmp}/m.db", tmp / "export"
    env = {"RAY_TMPDIR": str(short_tmp())}
    p = run_cli("study.run", STUDY, "--profile", "smoke", "--scheduler", "pb2", "--data-root", str(mnist_root),
                "--tracking-uri", uri, "--storage-path", str(tmp / "ray"), "--no-publish", *SMALL, timeout=600, env=env)
    exp = run_cli("analysis.export", STUDY, "--tracking-uri", uri, "--out", str(out), "--data-root", str(mnist_root),
                  "--quiet", timeout=600)
    return p, exp, uri, out


def _schedule(uri: str, run_id: str) -> dict[str, dict[int, float]]:
    c = client(uri)
    return {k: {m.step: m.value for m in c.get_metric_history(run_id, S.pbt_value(k))} for k in MUTATIONS}


def test_the_population_trains_to_the_end_under_pb2(study):
    p, _, uri, _ = study
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    runs = children(uri, STUDY)
    assert len(runs) == 4 and all(r.info.status == "FINISHED" for r in runs)
    assert all(steps(uri, r.info.run_id, "val_fid") == [1, 2, 3, 4] for r in runs)  # none repeated, none missing
    (parent,) = parents(uri, STUDY)
    assert parent.data.params[S.SCHEDULER] == "pb2" and parent.data.params[S.PBT_INTERVAL] == "1"


def test_from_the_second_sync_point_the_bandit_moves_the_copied_values_within_their_ranges(study):
    _, _, uri, _ = study
    runs = children(uri, STUDY)
    by_trial = {r.data.tags[S.TRIAL_ID]: r.info.run_id for r in runs}
    moved = []
    for r in runs:
        for e in json.loads(r.data.tags.get(S.PBT_LINEAGE, "[]")):
            after = _schedule(uri, r.info.run_id)  # what the trial trained with from report + 1 on
            donor = _schedule(uri, by_trial[e["donor_trial"]])
            for key, m in MUTATIONS.items():
                value = after[key][e["report"] + 1]
                assert m.low <= value <= m.high, (key, value)
                assert value == int(value) or not m.integer
            if e["report"] >= 2:  # a change per report has been seen: the bandit chooses
                moved.append(any(after[k][e["report"] + 1] != pytest.approx(donor[k][e["report"]]) for k in MUTATIONS))
    assert moved and all(moved), moved  # an exploit at reports 2 or 3, each with values of its own


def test_export_names_pb2_in_its_population_section(study):
    _, exp, _, out = study
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    html = (out / "report.html").read_text()
    assert "PB2: Population Based Bandits" in html and "PBT exploits" in html
