"""``--scheduler pb2`` end to end: the GAN smoke study under Population Based Bandits, with real Ray, MLflow (SQLite)
and MNIST files.

A population of 2 (both train at once on 2 CPUs: no trial waits paused for a free one), 4 reports, meeting at
reports 1, 2 and 3 (study.pbt.interval); the weaker copies the stronger at each. At report 1 no trial has a change
of its metric yet, so an exploit copies the donor's values; from report 2 on, the Gaussian-process bandit chooses
them. The export's population section is tests/test_pbt_e2e.py's (its text for PB2: tests/test_pbt_units.py).
"""

from __future__ import annotations

import json

import pytest

from record import schema as S
from record.store import client
from search_spaces import STUDIES
from tests.conftest import new_sqlite, run_cli
from tests.study_process import children, parents, steps

pytestmark = pytest.mark.e2e
STUDY = "gan_loss_sweep"
MUTATIONS = STUDIES[STUDY].mutations
SMALL = ["--num-samples", "2", "--max-epochs", "2", "--set", "train_size=512", "--set", "eval_samples=200",
         "--set", "width=16", "--set", "latent_dim=16"]  # as tests/test_pbt_e2e.py: 4 reports of 8 D steps


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_root, short_tmp):
    tmp = tmp_path_factory.mktemp("pb2")
    uri = new_sqlite(tmp)
    env = {"RAY_TMPDIR": str(short_tmp())}
    p = run_cli("study.run", STUDY, "--profile", "smoke", "--scheduler", "pb2", "--data-root", str(mnist_root),
                "--tracking-uri", uri, "--storage-path", str(tmp / "ray"), "--no-publish", *SMALL, timeout=600, env=env)
    return p, uri


def _schedule(uri: str, run_id: str) -> dict[str, dict[int, float]]:
    c = client(uri)
    return {k: {m.step: m.value for m in c.get_metric_history(run_id, S.pbt_value(k))} for k in MUTATIONS}


def test_the_population_trains_to_the_end_under_pb2(study):
    p, uri = study
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    runs = children(uri, STUDY)
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs)
    assert all(steps(uri, r.info.run_id, "val_fid") == [1, 2, 3, 4] for r in runs)  # none repeated, none missing
    (parent,) = parents(uri, STUDY)
    assert parent.data.params[S.SCHEDULER] == "pb2" and parent.data.params[S.PBT_INTERVAL] == "1"


def test_from_the_second_sync_point_the_bandit_moves_the_copied_values_within_their_ranges(study):
    _, uri = study
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
