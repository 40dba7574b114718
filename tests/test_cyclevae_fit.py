"""The cycle-consistent VAE training loop without Ray: metrics, checkpoints, reload, probes, and the
Sprites smoke profile on generated files."""

import json
import os

import numpy as np
import pytest
import torch

from study.resolve import resolve
from tests.sprites_files import write_sprites
from trainables import metric_names as M
from trainables.checkpoint import load_weights
from trainables.cyclevae import grid_indices
from trainables.families import FAMILIES

fit = FAMILIES["cyclevae"].fit
from trainables.cyclevae_config import CycleVAEConfig
from trainables.cyclevae_eval import EVAL_SEED_OFFSET, encode, evaluate
from trainables.cyclevae_score import z_kl, z_kl_floor
from trainables.data.arrays import ImageData
from trainables.data.paired import SPLITS, PairedData
from trainables.data.small import make_shapes
from trainables.errors import Diverged
from trainables.families import FAMILIES
from trainables.models.cyclevae import build_cyclevae, reparameterize
from trainables.probes import accuracy, fit_probe

SMALL = dict(dataset="synthetic", z_dim=4, s_dim=4, width=4, batch_size=32, lr=1e-3, probe_train_size=200,
             probe_epochs=3, eval_size=100, image_every=2)
METRICS = {M.EPOCH, M.N_PARAMS, M.LR, M.SAMPLES_PER_S, M.TRAIN_SWAP_MSE, M.TRAIN_KL, M.TRAIN_LOSS, M.TRAIN_REVERSE_L1,
           *M.PROBE_ACCURACIES["train"], *M.PROBE_ACCURACIES["val"], *M.PROBE_ACCURACIES["test"], M.VAL_Z_KL,
           M.TEST_Z_KL, M.VAL_DISENTANGLE_SCORE, M.TEST_DISENTANGLE_SCORE, M.VAL_ACC_GAP, M.TEST_ACC_GAP,
           M.VAL_RECON_MSE, M.VAL_SWAP_MSE, M.TEST_RECON_MSE, M.TEST_SWAP_MSE}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def shapes() -> PairedData:
    x, y = make_shapes(640, seed=0)
    xt, yt = make_shapes(200, seed=1)
    return PairedData(ImageData("synthetic", x[:512], y[:512], x[512:], y[512:], xt, yt, 4))


def _run(cfg, data, workdir, **kw):
    reports = []
    fit(cfg, lambda m, d: reports.append((m, d)), data, workdir=str(workdir), **kw)
    return reports


def test_reports_every_epoch_with_every_metric(shapes, tmp_path):
    reports = _run(CycleVAEConfig(**{**SMALL, "image_every": 5}, max_epochs=3), shapes, tmp_path)
    assert [m[M.EPOCH] for m, _ in reports] == [1, 2, 3]
    for m, _ in reports:
        assert set(m) == METRICS
        assert m[M.VAL_ACC_GAP] == pytest.approx(m[M.VAL_S_ACC] - m[M.VAL_ZSAMPLE_ACC])
        assert m[M.TEST_ACC_GAP] == pytest.approx(m[M.TEST_S_ACC] - m[M.TEST_ZSAMPLE_ACC])
        assert all(0 <= m[k] <= 1 for k in (M.TRAIN_ZSAMPLE_ACC, M.VAL_S_ACC, M.TEST_ZMEAN_ACC))
        assert m[M.VAL_Z_KL] >= 0 and m[M.TEST_Z_KL] >= 0
    assert reports[-1][0][M.TRAIN_SWAP_MSE] < reports[0][0][M.TRAIN_SWAP_MSE]  # it learns
    names = {p.name for p in (tmp_path / "report_0003").iterdir()}
    assert {"model.safetensors", "config.json", "trainer_state.pt", "swap.png", "recon.png"} <= names
    assert "swap.png" not in {p.name for p in (tmp_path / "report_0002").iterdir()}  # grids at the first and last epochs
    meta = json.loads((tmp_path / "report_0003" / "config.json").read_text())
    assert meta["family"] == "cyclevae" and meta["report"] == 3 and meta["unit"] == "epoch" and meta["image_shape"] == [1, 28, 28]


def test_reloaded_checkpoint_reproduces_logged_probe_metrics(shapes, tmp_path):
    cfg = CycleVAEConfig(**SMALL, max_epochs=1)
    (metrics, ckpt), = _run(cfg, shapes, tmp_path)
    model = build_cyclevae(cfg)
    load_weights(ckpt, model)
    tensors = {s: tuple(torch.from_numpy(a) for a in shapes.split(s)) for s in SPLITS}
    again = evaluate(model, shapes, tensors, cfg)
    assert again == pytest.approx({k: metrics[k] for k in again}, abs=1e-6)


def test_huge_learning_rate_diverges(shapes, tmp_path):
    with pytest.raises(Diverged, match="^diverged"):
        _run(CycleVAEConfig(**{**SMALL, "lr": 1e6}, max_epochs=3), shapes, tmp_path)


def test_grid_indices_pick_one_label_per_column():
    labels = np.array([3, 1, 3, 2, 1, 2, 0])
    s_idx, z_idx = grid_indices(labels, n=3)
    assert labels[s_idx].tolist() == labels[z_idx].tolist() == [0, 1, 2]
    assert s_idx.tolist() == [6, 1, 3] and z_idx.tolist() == [6, 4, 5]  # label 0 has one image: used twice


def test_probe_reads_a_label_from_informative_features_only():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (1000,), generator=g)
    informative = torch.randn(1000, 4, generator=g) * 0.3 + torch.nn.functional.one_hot(y, 5)[:, :4] * 3
    noise = torch.randn(1000, 4, generator=g)
    p = fit_probe(informative[:800], y[:800], epochs=10, seed=0)
    assert accuracy(p, informative[800:], y[800:]) > 0.95
    q = fit_probe(noise[:800], y[:800], epochs=10, seed=0)
    assert accuracy(q, noise[800:], y[800:]) < 0.35  # chance is 0.2
    again = fit_probe(informative[:800], y[:800] + 10, epochs=10, seed=0)  # labels are returned as given
    assert torch.equal(again.predict(informative[800:]), p.predict(informative[800:]) + 10)


def test_each_probe_metric_reads_its_own_latent(shapes):
    cfg = CycleVAEConfig(**SMALL, max_epochs=1)
    torch.manual_seed(0)
    model = build_cyclevae(cfg)
    with torch.no_grad():  # z's means spread far apart: z carries ~100 nats, over the floor, so the score reads a probe
        model.encoder.z_mu.weight.mul_(30)
    tensors = {s: tuple(torch.from_numpy(a) for a in shapes.split(s)) for s in SPLITS}
    out = evaluate(model, shapes, tensors, cfg)
    seed = cfg.seed + EVAL_SEED_OFFSET
    fit_idx = torch.from_numpy(shapes.probe_tasks(cfg.probe_train_size, cfg.eval_size, seed)["test"].fit[1])
    (x_tr, y_tr), (x_te, y_te) = tensors["train"], tensors["test"]
    mu, logvar, s = encode(model, x_tr[fit_idx])
    mu_te, logvar_te, s_te = encode(model, x_te[:cfg.eval_size])
    # the z-sample probe reads one sample of q(z|x), drawn from a generator seeded afresh per split
    z, z_te = (reparameterize(m, v, torch.Generator().manual_seed(seed)) for m, v in ((mu, logvar), (mu_te, logvar_te)))
    y_fit, y_score = y_tr[fit_idx], y_te[:cfg.eval_size]
    by_hand = {M.TEST_S_ACC: accuracy(fit_probe(s, y_fit, cfg.probe_epochs, seed), s_te, y_score),
               M.TEST_ZMEAN_ACC: accuracy(fit_probe(mu, y_fit, cfg.probe_epochs, seed), mu_te, y_score),
               M.TEST_ZSAMPLE_ACC: accuracy(fit_probe(z, y_fit, cfg.probe_epochs, seed), z_te, y_score)}
    assert {k: out[k] for k in by_hand} == by_hand
    assert out[M.TEST_ACC_GAP] == out[M.TEST_S_ACC] - out[M.TEST_ZSAMPLE_ACC]
    assert out[M.TEST_Z_KL] == pytest.approx(z_kl(mu_te, logvar_te))  # the scored test images' posteriors
    assert out[M.TEST_Z_KL] > z_kl_floor(len(torch.unique(y_score)))
    assert out[M.TEST_ZSAMPLE_ACC] != out[M.TEST_ZMEAN_ACC]  # measured 0.29 and 0.33: the score can tell them apart
    assert out[M.TEST_DISENTANGLE_SCORE] == out[M.TEST_S_ACC] - out[M.TEST_ZMEAN_ACC]  # the mean probe, not the sample


def test_sprites_smoke_profile_trains_on_generated_files(tmp_path):
    """The Sprites study's smoke profile and baseline (512/64) through the family's loader and fit, without Ray:
    the files are generated in the distributed format (the Ray path is the MNIST e2e study's)."""
    write_sprites(tmp_path / "data" / "sprites", {"train": [1, 2, 3, 4, 5, 6], "val": [7, 8, 9], "test": [10, 11, 12]},
                  n_anims=2, frames=4)
    r = resolve("cyclevae_sprites_sweep", "smoke")
    family = FAMILIES[r.study.family]
    cfg = family.make_config(r.complete(r.study.baseline))
    assert (cfg.dataset, cfg.z_dim, cfg.s_dim, cfg.max_epochs) == ("sprites", 512, 64, 2)
    data = family.load_data(r.fixed, tmp_path / "data")
    assert data.split_sizes() == {"train": 48, "val": 24, "test": 24}
    reports = _run(cfg, data, tmp_path / "run")
    assert [m[M.EPOCH] for m, _ in reports] == [1, 2]
    for m, _ in reports:
        assert set(m) == METRICS
        assert all(0 <= m[k] <= 1 for k in (M.TRAIN_S_ACC, M.VAL_S_ACC, M.VAL_ZSAMPLE_ACC, M.TEST_S_ACC,
                                            M.TEST_ZMEAN_ACC))
        assert np.isfinite(m[M.VAL_RECON_MSE]) and m[M.N_PARAMS] == family.n_params(cfg)
    meta = json.loads((tmp_path / "run" / "report_0002" / "config.json").read_text())
    assert meta["image_shape"] == [3, 60, 60] and {"swap.png", "recon.png"} <= set(os.listdir(reports[-1][1]))
