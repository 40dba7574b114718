"""The DDPM training loop on a tiny generated folder: reports, metrics, checkpoints,
divergence, reloaded checkpoints reproducing their numbers, each feature space."""

import json

import numpy as np
import pytest
import torch

from trainables.families import restore_model
from trainables import ddpm_eval
from trainables import metric_names as M
from trainables.classifier import Classifier, features_and_probs
from trainables.data.ddpm_data import load_ddpm_data
from trainables.data.shapes_folder import write_shapes_folder
from trainables.families import FAMILIES
from trainables.ddpm_config import DDPMConfig

fit = FAMILIES["ddpm"].fit
from trainables.diffusion import alphas_cumprod
from trainables.errors import Diverged
from trainables.fid import FeatureStats
from trainables.images import uint8_to_float
from tests.ddpm_support import one_thread  # noqa: F401 - autouse fixture

TINY = dict(dataset="image_folder", image_size=32, base_channels=8, channel_mult="1,2", num_res_blocks=1,
            attention_resolutions="16", batch_size=8, warmup_steps=5, eval_samples=16, ddim_steps=4,
            loss_eval_images=6, ema_decay=0.9, lr=1e-3)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_shapes_folder(tmp_path_factory.mktemp("shapes") / "tree", n=48)


@pytest.fixture(scope="module")
def data(folder, tmp_path_factory):
    return load_ddpm_data({"dataset": "image_folder", "data_dir": str(folder), "image_size": 32},
                          tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module")
def assets(data):
    """Classifier assets as Family.prepare returns them, from an untrained (seeded) classifier: the
    plumbing is what is tested here, not the classifier."""
    torch.manual_seed(0)
    model = Classifier(data.image_shape, data.images.num_classes).eval()
    refs = {s: FeatureStats.of(features_and_probs(model, uint8_to_float(torch.from_numpy(getattr(data.images, f"x_{s}"))))[0])
            .to_dict() for s in ("val", "test")}
    return {"classifier": model.state_dict(), "classifier_accuracy": 0.25, "refs": refs}


def _cfg(folder, **kw):
    return DDPMConfig(**{**TINY, "data_dir": str(folder), **kw})


def test_reports_every_metric_and_checkpoint(folder, data, assets, tmp_path):
    cfg = _cfg(folder, max_epochs=2, reports_per_epoch=2)
    seen = []
    fit(cfg, lambda m, d: seen.append(m), data, workdir=str(tmp_path), assets=assets)
    assert len(seen) == cfg.n_reports == 4
    assert [m[M.EPOCH] for m in seen] == pytest.approx([0.5, 1.0, 1.5, 2.0])
    for m in seen:
        for key in (M.TRAIN_LOSS, M.VAL_LOSS, M.TEST_LOSS, M.VAL_FID, M.VAL_KID, M.TEST_FID, M.TEST_KID,
                    M.SAMPLE_CONFIDENCE, M.CLASSES_COVERED, M.CLASS_ENTROPY, M.CLASSIFIER_ACCURACY, M.SAMPLES_PER_S,
                    M.DDIM_SAMPLES_PER_S, M.N_PARAMS, M.LR):
            assert np.isfinite(m[key]), key
    # 33 training images, batch 8: 4 steps an epoch, 2 a report; the learning rate warms up over 5 steps
    assert seen[0][M.LR] == pytest.approx(2 / 5 * 1e-3) and seen[-1][M.LR] == pytest.approx(1e-3)
    ckpt = tmp_path / "report_0004"
    assert sorted(p.name for p in ckpt.iterdir()) == ["config.json", "model.safetensors", "samples.png",
                                                      "trainer_state.pt"]
    from PIL import Image

    assert Image.open(ckpt / "samples.png").size == (2 + 8 * 34, 2 + 2 * 34)  # 16 samples: 8 per row, 2 rows
    meta = json.loads((ckpt / "config.json").read_text())
    assert meta["family"] == "ddpm" and meta["image_shape"] == [3, 32, 32] and meta["report"] == 4


def test_a_reloaded_checkpoint_reproduces_its_logged_numbers(folder, data, assets, tmp_path):
    cfg = _cfg(folder, max_epochs=1)
    seen = []
    fit(cfg, lambda m, d: seen.append(m), data, workdir=str(tmp_path), assets=assets)
    unet, loaded = restore_model(tmp_path / "report_0001")
    assert loaded == cfg
    again = ddpm_eval.Evaluator(cfg, data, assets, alphas_cumprod(cfg.schedule, cfg.timesteps), torch.device("cpu"))
    _, metrics = again(unet)
    for key in (M.VAL_FID, M.TEST_FID, M.VAL_KID, M.VAL_LOSS, M.TEST_LOSS, M.SAMPLE_CONFIDENCE):
        assert metrics[key] == pytest.approx(seen[0][key], rel=1e-4, abs=1e-6), key


def test_without_a_feature_space_fid_is_absent_not_faked(folder, data):
    seen = []
    fit(_cfg(folder, max_epochs=1, fid_features="none"), lambda m, d: seen.append(m), data, assets={})
    assert M.VAL_LOSS in seen[0] and not {M.VAL_FID, M.TEST_FID, M.VAL_KID, M.SAMPLE_CONFIDENCE} & set(seen[0])


def test_non_finite_loss_stops_the_trial(folder, data):
    with pytest.raises(Diverged, match="^diverged: non-finite training loss"):
        fit(_cfg(folder, max_epochs=2, lr=float("inf"), warmup_steps=0, fid_features="none"), lambda m, d: None, data)


def test_inception_feature_space(folder, data, monkeypatch):
    """fid_features=inception: Family.prepare and the trial use Inception-v3 pool features (a stand-in
    network here: no weights are on disk) for val_fid and test_fid; no class metrics."""
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten()).eval()  # (B, 48) features
    monkeypatch.setattr(ddpm_eval, "load_fid_inception", lambda device: net)
    monkeypatch.setattr(ddpm_eval, "inception_features", lambda n, x: n(x).double().numpy())
    inception_data = type(data)(data.images, "inception")
    assets = ddpm_eval.prepare(inception_data, None)
    assert set(assets) == {"inception_refs"} and assets["inception_refs"]["val"]["mu"].shape == (48,)
    seen = []
    fit(_cfg(folder, max_epochs=1, fid_features="inception"), lambda m, d: seen.append(m), inception_data, assets=assets)
    assert np.isfinite(seen[0][M.VAL_FID]) and np.isfinite(seen[0][M.TEST_KID])
    assert M.SAMPLE_CONFIDENCE not in seen[0]


@pytest.mark.filterwarnings("ignore:CUDA is not available")  # building it on a CPU-only machine
def test_autocast_only_on_cuda():
    from contextlib import nullcontext

    assert isinstance(ddpm_eval.autocast(DDPMConfig(), torch.device("cpu")), nullcontext)
    ctx = ddpm_eval.autocast(DDPMConfig(mixed_precision="fp16"), torch.device("cuda"))
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.float16
    assert isinstance(ddpm_eval.autocast(DDPMConfig(mixed_precision="none"), torch.device("cuda")), nullcontext)
