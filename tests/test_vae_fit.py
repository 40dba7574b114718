"""The VAE training loop without Ray: metrics, checkpoints, reload (resume: tests/test_family_contract.py)."""

import json

import pytest
import torch

from trainables import metric_names as M
from trainables.data import load_dataset
from trainables.families import restore_model
from trainables.families import FAMILIES
from trainables.vae import Diverged, evaluate

fit = FAMILIES["vae"].fit
from trainables.vae_config import VAEConfig


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("synthetic").subset(512)


def _run(cfg, data, tmp_path, **kw):
    reports = []
    fit(cfg, lambda m, d: reports.append((m, d)), data, workdir=str(tmp_path), **kw)
    return reports


def test_reports_every_epoch_with_all_vae_metrics(shapes, tmp_path):
    cfg = VAEConfig(dataset="synthetic", arch="conv", depth=2, width=8, latent_dim=4, max_epochs=3, image_every=2)
    reports = _run(cfg, shapes, tmp_path)
    assert [m[M.EPOCH] for m, _ in reports] == [1, 2, 3]
    for m, d in reports:
        assert set(M.VAE_METRICS) <= set(m)
        assert m[M.TEST_NELBO] == pytest.approx(m[M.TEST_RECON] + m[M.TEST_KL])
        assert m[M.TRAIN_LOSS] == pytest.approx(m[M.TRAIN_RECON] + m[M.BETA] * m[M.TRAIN_KL], rel=1e-4)
        assert m[M.N_PARAMS] > 0 and m[M.SAMPLES_PER_S] > 0
    assert reports[-1][0][M.TEST_NELBO] < reports[0][0][M.TEST_NELBO]  # it learns
    last = reports[-1][1]
    names = {p.name for p in (tmp_path / "report_0003").iterdir()}
    assert {"model.safetensors", "config.json", "trainer_state.pt", "recon.png", "samples.png"} <= names
    assert "recon_before.png" in {p.name for p in (tmp_path / "report_0001").iterdir()}
    assert json.loads((tmp_path / "report_0003" / "config.json").read_text())["report"] == 3
    assert last.endswith("report_0003")


def test_reloaded_checkpoint_reproduces_logged_nelbo(shapes, tmp_path):
    cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=32, latent_dim=4, max_epochs=2)
    metrics, ckpt = _run(cfg, shapes, tmp_path)[-1]
    model, loaded_cfg = restore_model(ckpt)
    assert loaded_cfg == cfg
    again = evaluate(model, torch.from_numpy(shapes.x_test), loaded_cfg)
    assert again["nelbo"] == pytest.approx(metrics[M.TEST_NELBO], rel=1e-5)


def test_eval_size_scores_the_first_images_of_each_split(shapes, tmp_path):
    cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=32, latent_dim=4, max_epochs=1, eval_size=10)
    metrics, ckpt = _run(cfg, shapes, tmp_path)[-1]
    model, _ = restore_model(ckpt)
    for split, x, key in (("val", shapes.x_val, M.VAL_NELBO), ("test", shapes.x_test, M.TEST_NELBO)):
        first, whole = (evaluate(model, torch.from_numpy(x[:n]), cfg)["nelbo"] for n in (10, None))
        assert metrics[key] == pytest.approx(first, rel=1e-6) and first != pytest.approx(whole, rel=1e-6), split


def test_epochs_are_shuffled_differently(shapes, tmp_path):
    """Each epoch draws its own order (a function of seed and epoch), not epoch 1's order again."""
    from trainables.device import epoch_generator

    orders = [torch.randperm(100, generator=epoch_generator(0, e, torch.device("cpu"))) for e in (1, 2)]
    again = torch.randperm(100, generator=epoch_generator(0, 2, torch.device("cpu")))
    assert not torch.equal(orders[0], orders[1]) and torch.equal(orders[1], again)


def test_deterministic_autoencoder_reports_recon_only(shapes, tmp_path):
    cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=32, latent_dim=8, max_epochs=1,
                    deterministic=True, beta=0.0)
    (m, d), = _run(cfg, shapes, tmp_path)
    assert M.TEST_RECON in m and M.TRAIN_RECON in m
    assert not {M.TEST_KL, M.TRAIN_KL, M.TEST_NELBO, M.TEST_LOSS} & set(m)


def test_non_finite_loss_raises_diverged(shapes, tmp_path):
    cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=32, latent_dim=4, max_epochs=3, lr=1e6)
    with pytest.raises(Diverged, match="^diverged"):
        _run(cfg, shapes, tmp_path)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_rng_state_is_saved_and_restored():
    from trainables.device import rng_state, set_rng_state

    device = torch.device("cuda")
    state = rng_state(device)
    assert "cuda_rng" in state
    first = torch.randn(8, device=device)
    set_rng_state(state, device)
    assert torch.equal(torch.randn(8, device=device), first)


def test_cpu_rng_state_round_trips_without_cuda_entry():
    from trainables.device import rng_state, set_rng_state

    state = rng_state(torch.device("cpu"))
    assert set(state) == {"torch_rng"}
    first = torch.randn(8)
    set_rng_state(state, torch.device("cpu"))
    assert torch.equal(torch.randn(8), first)
