"""A multi-objective study end to end (real Ray, MLflow on SQLite, real MNIST): the VAE smoke study with
``--objectives val_nelbo,n_params``, the Pareto front it prints checked against MLflow, the same front in the
export's report and ``best_config.yaml``, and ``--from-config ... --rank 2`` training that point again.

Four trials of one epoch each, every one trained to the end (``--scheduler fifo``): the smallest study whose
front has two points or more (seed 0). The searcher's tell and the front's rules are tests/test_objectives.py's."""

import re
import shutil

import pytest
import yaml
from mlflow.tracking import MlflowClient

from analysis.record import typed_config
from record import config_file
from tests.analysis_study import EXPORT_ARGS
from tests.conftest import new_sqlite, run_cli

pytestmark = pytest.mark.e2e
STUDY = "vae_beta_sweep"
ARGS = ("--objectives", "val_nelbo,n_params", "--num-samples", "4", "--max-epochs", "1", "--scheduler", "fifo",
        "--no-publish", "--confirm", "0")


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_root):
    folder = tmp_path_factory.mktemp("objectives")
    uri = new_sqlite(folder)
    run = run_cli("study.run", STUDY, "--profile", "smoke", "--data-root", str(mnist_root), "--tracking-uri", uri,
                  "--storage-path", str(folder / "ray"), *ARGS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = folder / "export"
    export = run_cli("analysis.export", STUDY, "--tracking-uri", uri, "--out", str(out), "--data-root", str(mnist_root),
                     *EXPORT_ARGS)
    assert export.returncode == 0, export.stderr[-3000:]
    return uri, run.stdout, out, folder


def _printed_front(stdout: str) -> list[list[str]]:
    """The rows of the Pareto table that ends the summary: rank, trial, val_nelbo, test_nelbo, n_params, run."""
    lines = stdout.rstrip().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Pareto front of val_nelbo (min) and n_params"))
    assert lines[head + 1].split() == ["rank", "trial", "val_nelbo", "test_nelbo", "n_params", "run"]
    rows = [line.split() for line in lines[head + 2:]]
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))  # the table is the last thing printed
    return rows


def test_the_summary_ends_with_the_front_of_the_finished_trials(study):
    uri, stdout, _, _ = study
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(STUDY).experiment_id
    (parent,) = client.search_runs([exp], filter_string="tags.role = 'study'")
    assert parent.data.params["objectives"] == "val_nelbo:min:test_nelbo,n_params:min"  # the export reads this
    children = client.search_runs([exp], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    points = {}
    for c in children:
        assert c.data.tags["status"] == "finished"
        (val,) = client.get_metric_history(c.info.run_id, "val_nelbo")  # one epoch: one report
        (test,) = client.get_metric_history(c.info.run_id, "test_nelbo")
        points[c.info.run_id] = (val.value, c.data.metrics["n_params"], test.value, c.data.tags["trial_id"])
    rows = _printed_front(stdout)
    assert len(rows) >= 2 and len(points) == 4
    on_front = {r[5] for r in rows}
    for _, trial, val, test, size, run in rows:  # printed to 4 decimals
        assert (float(val), float(test)) == pytest.approx((points[run][0], points[run][2]), abs=1e-4)
        assert (int(size.replace(",", "")), trial) == (points[run][1], points[run][3])

    def beats(a, b):
        return a[0] <= b[0] and a[1] <= b[1] and (a[0] < b[0] or a[1] < b[1])

    for run, p in points.items():  # on the front exactly when no other trial beats it in both
        assert (run in on_front) == (not any(beats(q, p) for q in points.values())), run
    assert [float(r[2]) for r in rows] == sorted(float(r[2]) for r in rows)  # ranked by val_nelbo


def test_the_export_has_the_same_front_in_its_report_and_best_config(study):
    _, stdout, out, _ = study
    rows = _printed_front(stdout)
    text = (out / "best_config.yaml").read_text()
    assert text.startswith("# the Pareto front of val_nelbo (min) and n_params (min): ")
    doc = yaml.safe_load(text)
    assert [(e["rank"], e["trial_id"], e["run_id"]) for e in doc["top_k"]] == [(int(r[0]), r[1], r[5]) for r in rows]
    assert [e["objectives"]["n_params"] for e in doc["top_k"]] == [int(r[4].replace(",", "")) for r in rows]
    page = (out / "report.html").read_text()
    table = page[page.index("<h2>Pareto front</h2>"):page.index("<h2>Leaderboard</h2>")]
    assert re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>(.*?)</td>", table) == [(r[0], r[1]) for r in rows]
    assert all(r[5] in table for r in rows) and "ranked 1..%d by val_nelbo" % len(rows) in table


def test_from_config_rank_2_trains_that_point_again(study, mnist_root, tmp_path):
    uri, _, out, folder = study
    db = tmp_path / "rerun.db"
    shutil.copy(folder / "m.db", db)  # the other tests keep reading the study as the newest invocation
    rerun_uri = f"sqlite:///{db}"
    p = run_cli("study.run", "--from-config", str(out / "best_config.yaml"), "--rank", "2", "--profile", "smoke",
                "--tracking-uri", rerun_uri, "--data-root", str(mnist_root), "--storage-path", str(tmp_path / "ray"),
                "--no-publish")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    client = MlflowClient(rerun_uri)
    exp = client.get_experiment_by_name(STUDY).experiment_id
    (parent,) = client.search_runs([exp], filter_string="tags.from_config != ''")
    (rerun,) = client.search_runs([exp], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert typed_config(rerun.data.params, "vae") == config_file.read(out / "best_config.yaml", rank=2)[2]
    assert rerun.data.tags["status"] == "finished" and "objectives" not in parent.data.params
