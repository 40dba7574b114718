"""``val_fid_inception`` / ``test_fid_inception``: measured once on the kept checkpoint (``Family.final_metrics``),
against the validation and the test images respectively, never at a report. The FID Inception network is never on
disk here: a small stand-in network (pooled pixels, 48-d) takes its place."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainables import gan as gan_loop
from trainables import metric_names as M
from trainables.data import load_dataset
from trainables.families import FAMILIES, restore_model
from trainables.fid import INCEPTION_REF_IMAGES, FeatureStats, frechet_distance
from trainables.gan_config import GANConfig
from trainables.images import uint8_to_float

TINY = dict(dataset="synthetic", depth=2, width=8, latent_dim=8, batch_size=32, train_size=128, eval_samples=64,
            max_epochs=2)


class _StandIn(torch.nn.Module):
    """Takes the FID network's input (uint8 RGB) and returns 48 pooled pixel features per image."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x.float(), 4).flatten(1)


def _fd(net, images: torch.Tensor, reference_u8: np.ndarray) -> float:
    """The Fréchet distance of ``images`` to ``reference_u8`` in the stand-in's features, computed here."""
    def features(x):
        return net((x.expand(-1, 3, -1, -1) * 255).byte()).double().numpy()

    a = FeatureStats.of(features(images))
    b = FeatureStats.of(features(uint8_to_float(torch.from_numpy(np.array(reference_u8[:INCEPTION_REF_IMAGES])))))
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory):
    """A GAN trained for two reports with their checkpoints kept, and the reports' metrics, with the stand-in
    network installed as the FID network throughout."""
    patch = pytest.MonkeyPatch()
    net = _StandIn()
    patch.setattr(gan_loop, "load_fid_inception", lambda device: net)
    workdir = tmp_path_factory.mktemp("gan")
    data = load_dataset("synthetic")
    seen = []
    try:
        FAMILIES["gan"].fit(GANConfig(**TINY), lambda m, d: seen.append(m), data, workdir=str(workdir))
        yield net, data, [restore_model(workdir / f"report_{k:04d}") for k in (1, 2)], seen
    finally:
        patch.undo()


def test_the_reports_never_log_it(two_checkpoints):
    _, _, _, seen = two_checkpoints
    assert len(seen) == 2 and not [k for m in seen for k in m if "inception" in k]


def test_it_is_measured_on_the_checkpoint_given_against_each_split(two_checkpoints):
    net, data, checkpoints, _ = two_checkpoints
    values = []
    for model, cfg in checkpoints:
        got = FAMILIES["gan"].final_metrics(model, cfg, data)
        assert set(got) == {M.VAL_FID_INCEPTION, M.TEST_FID_INCEPTION}
        images = gan_loop.sample_images(model.generator, cfg, torch.device("cpu"))  # what its report scored
        assert got[M.VAL_FID_INCEPTION] == pytest.approx(_fd(net, images, data.x_val), rel=1e-9)
        assert got[M.TEST_FID_INCEPTION] == pytest.approx(_fd(net, images, data.x_test), rel=1e-9)
        values.append(got)
    assert values[0][M.VAL_FID_INCEPTION] != pytest.approx(values[1][M.VAL_FID_INCEPTION], rel=1e-3)  # two checkpoints
    assert values[0][M.VAL_FID_INCEPTION] != pytest.approx(values[0][M.TEST_FID_INCEPTION], rel=1e-6)  # two splits
