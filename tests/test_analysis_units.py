"""Analysis building blocks without MLflow: ASHA rungs, GAN equilibria, typed params, best_config.yaml,
grid splitting, the leaderboard and importance on a hand-made record."""

import math

import numpy as np
import pytest
import yaml
from ray.tune.schedulers.async_hyperband import _Bracket

from analysis import best_config, importance, leaderboard
from analysis.figures.common import split_grid
from analysis.figures.gan import equilibrium
from analysis.figures.vae_model import pick_pairs
from analysis.latents import kl_per_dimension, stratified_indices
from analysis.record import StudyRecord, Trial, typed_config
from record import config_file


@pytest.mark.parametrize("grace,rf,max_t", [(1, 2, 4), (2, 3, 12), (5, 3, 100), (2, 2, 2), (1, 3, 10)])
def test_asha_rungs_match_rays_bracket(grace, rf, max_t):
    rays = sorted(m for m, _ in _Bracket(grace, max_t, rf, s=0)._rungs)  # the milestones Ray stops trials at
    assert leaderboard.asha_rungs(grace, rf, max_t) == sorted(set(rays) | {max_t})


def test_equilibrium_values_of_each_loss():
    d, g = equilibrium("bce")
    assert d == pytest.approx(2 * math.log(2)) and g == pytest.approx(math.log(2))  # D(x) = 1/2 everywhere
    assert equilibrium("lsgan") == pytest.approx((0.25, 0.125))
    assert equilibrium("hinge") == (2.0, None) and equilibrium("wgan_gp") == (0.0, None)
    d_s, _ = equilibrium("bce", 0.1)  # smoothing lowers the best D loss below 2 log 2: D* = 0.45
    assert d_s == pytest.approx(-0.9 * math.log(0.45) - 1.1 * math.log(0.55))


def test_typed_config_restores_types_from_mlflow_strings():
    cfg = typed_config({"beta": "1.5", "latent_dim": "16", "batchnorm": "False", "train_size": "None",
                        "arch": "conv", "unknown_key": "x"}, "vae")
    assert cfg == {"beta": 1.5, "latent_dim": 16, "batchnorm": False, "train_size": None, "arch": "conv",
                   "unknown_key": "x"}
    assert typed_config({"lr_g": "None", "n_critic": "2"}, "gan") == {"lr_g": None, "n_critic": 2}


def _trial(i, status, values, **config):
    base = {"dataset": "mnist", "seed": 0, "beta": 1.0 + i, "latent_dim": 8 * (i + 1), "arch": "mlp" if i % 2 else "conv"}
    return Trial(run_id=f"run{i}", trial_id=f"t{i}", status=status, epochs=len(values), config={**base, **config},
                 history={"val_nelbo": list(enumerate(values, start=1)),
                          "test_nelbo": [(s, v + 1) for s, v in enumerate(values, start=1)]}, n_params=1000 * (i + 1))


@pytest.fixture
def record():
    trials = [_trial(0, "finished", [300, 200, 150, 140]), _trial(1, "stopped_early", [250]),
              _trial(2, "stopped_early", [320, 180]), _trial(3, "finished", [260, 190, 170, 160]),
              _trial(4, "failed", [float("nan")])]
    trials[4].error, trials[4].failure_reason = "diverged: non-finite loss", "diverged"
    params = {"metric": "val_nelbo", "mode": "min", "grace_period": "1", "reduction_factor": "2", "fixed.dataset": "mnist"}
    return StudyRecord("vae_beta_sweep", "vae", "sqlite:///x.db", "1", "p", "p-name", "FINISHED", "val_nelbo", "min",
                       params, {"best_run_id": "run0"}, {}, trials, max_reports=4, test_metric="test_nelbo")


def test_leaderboard_ranks_by_best_and_at_each_rung(record):
    df = leaderboard.build(record).set_index("trial_id")
    assert list(df.index[:4]) == ["t0", "t3", "t2", "t1"] and df.loc["t4", "status"] == "failed"
    assert pd_isna(df.loc["t4", "rank"]) and df.loc["t4", "error"].startswith("diverged")
    assert df.loc["t1", "rank@1"] == 1  # at equal budget (1 report) the stopped trial led
    assert df.loc["t2", "rank@2"] == 1 and df.loc["t0", "rank@2"] == 3  # 180 < 190 < 200
    assert df.loc["t2", "status_detail"] == "stopped early by ASHA at rung 2 of 3 (report 2)"
    assert df.loc["t0", "val_nelbo@4"] == 140 and pd_isna(df.loc["t1", "val_nelbo@2"])
    assert df.loc["t0", "test_nelbo_at_best"] == 141 and df.loc["t2", "test_nelbo_at_best"] == 181  # beside, not ranked
    assert set(df["selected_on"]) == {"val"} and not record.selected_on_test
    assert record.searched == ["arch", "beta", "latent_dim"]


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _confirmation_run(i, of, rank, seed, value, **finals):
    t = _trial(i, "finished", [value + 10, value])
    t.tags = {"phase": "confirm", "confirm_of": of, "confirm_rank": str(rank), "confirm_seed": str(seed)}
    t.metrics = finals
    return t


@pytest.mark.parametrize("measured", [True, False])
def test_the_confirmation_shows_the_final_metrics_over_seeds_only_when_measured(record, measured):
    from analysis import confirmation, report
    from analysis.figures.confirm import _finals_caption

    def nll(v, se):
        return {"test_nll_iw": v, "test_nll_iw_se": se, "val_nll_iw": v + 1} if measured else {}

    record.confirmations = [_confirmation_run(10, "t0", 1, 11, 150, **nll(90.0, 0.5)),
                            _confirmation_run(11, "t0", 1, 12, 152, **nll(92.0, 0.7)),
                            _confirmation_run(12, "t3", 2, 11, 149, **nll(89.0, 0.4))]
    table = confirmation.table(record).set_index("trial_id")
    board = leaderboard.build(record).set_index("trial_id")
    page = report.leaderboard_table(leaderboard.build(record), record).html
    if not measured:
        assert not [c for c in [*table.columns, *board.columns] if "nll" in c] and "nll" not in page
        assert _finals_caption(record) == ""
        return
    assert table.loc["t0", "test_nll_iw_mean"] == pytest.approx(91.0)
    assert table.loc["t0", "test_nll_iw_sd"] == pytest.approx(math.sqrt(2))
    assert table.loc["t0", "test_nll_iw_se_mean"] == pytest.approx(0.6) and table.loc["t3", "val_nll_iw_mean"] == 90.0
    assert pd_isna(table.loc["t3", "test_nll_iw_sd"])  # one seed: no spread
    assert board.loc["t0", "test_nll_iw_confirm_mean"] == pytest.approx(91.0)
    assert board.loc["t0", "val_nll_iw_confirm_sd"] == pytest.approx(math.sqrt(2))
    assert "test_nll_iw_se_confirm_mean" not in board and pd_isna(board.loc["t1", "test_nll_iw_confirm_mean"])
    assert "<th>test_nll_iw_confirm_mean</th>" in page and "<th>val_nll_iw_confirm_sd</th>" in page
    assert "test_nll_iw, test_nll_iw_se, val_nll_iw (_mean, _sd): measured once on each seed" in _finals_caption(record)


def test_importance_uses_equal_budget_values_when_few_trials_finished(record):
    pairs, target = importance.trial_values(record, first_rung=1)
    assert len(pairs) == 4 and "first ASHA rung" in target  # 2 finished < 5: the value after 1 report
    imp = importance.fanova(record, first_rung=1)
    assert imp is not None and set(imp.values) <= {"arch", "beta", "latent_dim"}
    assert sum(imp.values.values()) == pytest.approx(1.0)


def test_best_config_round_trip(record, tmp_path):
    path = tmp_path / "best_config.yaml"
    doc = best_config.write(record, path, top_k=3)
    assert doc["best"]["trial_id"] == "t0" and [e["trial_id"] for e in doc["top_k"]] == ["t0", "t3", "t2"]
    study, family, config = config_file.read(path)
    assert (study, family, config) == ("vae_beta_sweep", "vae", record.trials[0].config)
    assert config_file.read(path, rank=2)[2] == record.trials[3].config
    with pytest.raises(config_file.ConfigFileError, match="no trial of rank 9"):
        config_file.read(path, rank=9)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"x": 1}))
    with pytest.raises(config_file.ConfigFileError, match="not a best_config.yaml"):
        config_file.read(tmp_path / "bad.yaml")


def test_split_grid_recovers_torchvision_tiles(tmp_path):
    import torch

    from trainables.images import save_grid
    from analysis.figures.common import read_png

    images = torch.rand(16, 1, 28, 28)
    save_grid(images, tmp_path / "g.png")
    tiles = split_grid(read_png(tmp_path / "g.png"), 28)
    assert len(tiles) == 16
    assert np.allclose(tiles[5][..., 0], images[5, 0].numpy(), atol=1 / 255 + 1e-6)


def test_pairs_have_different_labels_and_strata_keep_shares():
    labels = np.repeat(np.arange(10), 50)
    pairs = pick_pairs(labels)
    assert len(pairs) == 8 and all(labels[i] != labels[j] for i, j in pairs)
    idx = stratified_indices(labels, 100, seed=0)
    assert len(idx) == 100 and np.bincount(labels[idx]).tolist() == [10] * 10


def test_kl_per_dimension_is_zero_for_the_prior():
    mu, logvar = np.zeros((5, 3)), np.zeros((5, 3))
    assert np.allclose(kl_per_dimension(mu, logvar), 0.0)
    assert kl_per_dimension(np.ones((5, 3)), logvar) == pytest.approx([0.5] * 3)  # 0.5 * mu^2


def test_report_escapes_intro_text_and_keeps_code_spans(record, tmp_path):
    from analysis import report
    from analysis.figures.vae import _describe
    from analysis.items import Section, Table

    record.trials[0].config["arch"] = "<script>alert(1)</script>"  # a --set value reaches the intro verbatim
    record.trials[0].run_id = "run&<0>"
    intro = _describe(record.trials[0])
    page = tmp_path / "report.html"
    report.write(page, record, [Section("VAE", intro, [])], Table("Leaderboard", "c", "<table></table>", ""), None)
    text = page.read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<code>run&amp;&lt;0&gt;</code>" in text  # the backticked run id is code, its text escaped


def test_the_export_writes_a_database_password_nowhere(record, tmp_path):
    """A study recorded straight on PostgreSQL: best_config.yaml (shared with the config) keeps the URI without its
    password, the report page shows it as ***."""
    import dataclasses

    from analysis import report
    from analysis.items import Table

    record = dataclasses.replace(record, tracking_uri="postgresql+psycopg://genstudy:pg-s3cret@db.example/mlflow")
    best_config.write(record, tmp_path / "best_config.yaml", top_k=3)
    report.write(tmp_path / "report.html", record, [], Table("Leaderboard", "c", "<table></table>", ""), None)
    assert "postgresql+psycopg://genstudy@db.example/mlflow" in (tmp_path / "best_config.yaml").read_text()
    assert "genstudy:***@db.example" in (tmp_path / "report.html").read_text()
    assert not [p.name for p in tmp_path.iterdir() if "pg-s3cret" in p.read_text()]


def test_image_steps_reads_log_image_names_and_the_legacy_layout():
    from analysis.figures.common import image_steps

    logged = ["images/recon+step+0+timestamp+1700000000000+a1.png", "images/recon+step+0+timestamp+1700000000000+a1"
              "+compressed.webp", "images/recon+step+2+timestamp+1700000000100+b2.png",
              "images/recon+step+2+timestamp+1700000000900+c3.png",  # the same step logged again (a retried report)
              "images/samples+step+2+timestamp+1700000000100+d4.png"]
    assert image_steps(logged, "recon") == {0: logged[0], 2: logged[3]}
    assert image_steps(logged, "samples") == {2: logged[4]}
    legacy = ["images/recon_before.png", "images/recon_e0001.png", "images/recon_e0004.png", "images/samples_e0004.png"]
    assert image_steps(legacy, "recon") == {0: legacy[0], 1: legacy[1], 4: legacy[2]}
    assert image_steps(legacy, "fixed_noise") == {}


def test_image_steps_reads_the_older_percent_separator():
    from analysis.figures.common import image_steps

    old = ["images/fixed_noise%step%3%timestamp%1700000000000%e5.png"]
    assert image_steps(old, "fixed_noise") == {3: old[0]}
