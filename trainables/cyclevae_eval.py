"""What a cycle-consistent VAE is scored on at each report: probe accuracies on z and on s (Table 1 of
Jha et al. 2018), z's information, the study metric built from them (:mod:`trainables.cyclevae_score`), and
reconstruction errors, without gradients.

z is probed twice, with the same probe network fitted on the same images: on one seeded sample of q(z|x)
(``*_zsample_acc``: the z the decoder sees in training) and on its posterior mean (``*_zmean_acc``: the
encoder's output, which the study metric reads). Neither is "the release's": the release ships the
classifier but no script that trains or scores it; its only sampled z fed to the classifier is a shape check
under ``networks.py``'s ``__main__``. s is the encoder's deterministic output; reconstructions use the
posterior mean. ``*_z_kl`` is the mean KL(q(z|x) || N(0, I)) of the scored images. The probes and the images
they are fitted and scored on are described in :mod:`trainables.probes` and
:meth:`trainables.data.paired.PairedData.probe_tasks`.
"""

from __future__ import annotations

import numpy as np
import torch

from trainables import metric_names as M
from trainables.cyclevae_config import CycleVAEConfig
from trainables.cyclevae_score import disentangle_score, z_kl
from trainables.data.paired import SPLITS, PairedData, PairSampler
from trainables.images import uint8_to_float
from trainables.losses.cyclevae import pixel_mse
from trainables.models.cyclevae import CycleVAE, reparameterize
from trainables.probes import accuracy, fit_probe

EVAL_BATCH = 1000
EVAL_SEED_OFFSET = 10_007  # probes and partners are seeded apart from training


@torch.no_grad()
def encode(model: CycleVAE, images_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z means, z log-variances, s)`` of uint8 images, in batches."""
    model.eval()
    parts = [model.encode(uint8_to_float(images_u8[i:i + EVAL_BATCH])) for i in range(0, len(images_u8), EVAL_BATCH)]
    return tuple(torch.cat(p) for p in zip(*parts))  # type: ignore[return-value]


@torch.no_grad()
def reconstruction_errors(model: CycleVAE, x_u8: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[float, float]:
    """Mean per-pixel squared error of x decoded from its own (z mean, s), and from its z mean with the s of
    a same-label image of the same set (a fixed seeded partner; itself when it is its label's only image)."""
    model.eval()
    z, _, s = encode(model, x_u8)
    partner = PairSampler(y).same(torch.arange(len(y), device=y.device),
                                  torch.Generator(device=y.device).manual_seed(seed))
    sums = torch.zeros(2, dtype=torch.float64, device=x_u8.device)
    for i in range(0, len(x_u8), EVAL_BATCH):
        sl = slice(i, i + EVAL_BATCH)
        x = uint8_to_float(x_u8[sl])
        sums[0] += pixel_mse(model.decode(z[sl], s[sl]), x).sum()
        sums[1] += pixel_mse(model.decode(z[sl], s[partner[sl]]), x).sum()
    recon, swap = (sums / len(x_u8)).tolist()
    return recon, swap


def evaluate(model: CycleVAE, data: PairedData, tensors: dict[str, tuple[torch.Tensor, torch.Tensor]],
             cfg: CycleVAEConfig) -> dict[str, float]:
    """Probe accuracies on z (sample and mean) and s for every split; for val and test, z's KL, the study
    metric and the old sample gap, and reconstruction errors. ``tensors`` maps each split to its (uint8
    images, labels) on the model's device."""
    seed = cfg.seed + EVAL_SEED_OFFSET
    tasks = data.probe_tasks(cfg.probe_train_size, cfg.eval_size, seed)
    device = next(model.parameters()).device

    def codes(split: str, idx: np.ndarray):
        """((z sample, z mean, s), z's KL, labels) of ``idx`` in ``split``; the same call draws the same z."""
        x, y = tensors[split]
        i = torch.from_numpy(idx).to(device)
        mu, logvar, s = encode(model, x[i])
        z = reparameterize(mu, logvar, torch.Generator(device=device).manual_seed(seed))
        return (z, mu, s), z_kl(mu, logvar), y[i]

    out: dict[str, float] = {}
    probes: dict[tuple, list] = {}
    nats: dict[str, float] = {}
    n_labels: dict[str, int] = {}
    for split in SPLITS:
        task = tasks[split]
        key = (task.fit[0], task.fit[1].tobytes())
        if key not in probes:  # shared labels: one set of probes serves all three splits
            features, _, y = codes(*task.fit)
            probes[key] = [fit_probe(f, y, cfg.probe_epochs, seed) for f in features]
        features, nats[split], y = codes(*task.score)
        for name, probe, f in zip(M.PROBE_ACCURACIES[split], probes[key], features):  # (z sample, z mean, s)
            out[name] = accuracy(probe, f, y)
        n_labels[split] = len(torch.unique(y))
    for split, kl_key, score, gap, recon_key, swap_key in (
            ("val", M.VAL_Z_KL, M.VAL_DISENTANGLE_SCORE, M.VAL_ACC_GAP, M.VAL_RECON_MSE, M.VAL_SWAP_MSE),
            ("test", M.TEST_Z_KL, M.TEST_DISENTANGLE_SCORE, M.TEST_ACC_GAP, M.TEST_RECON_MSE, M.TEST_SWAP_MSE)):
        zsample_key, zmean_key, s_key = M.PROBE_ACCURACIES[split]
        out[kl_key] = nats[split]
        out[score] = disentangle_score(out[s_key], out[zmean_key], out[kl_key], n_labels[split])
        out[gap] = out[s_key] - out[zsample_key]
        x, y = tensors[split]
        n = len(y) if cfg.eval_size is None else min(cfg.eval_size, len(y))
        out[recon_key], out[swap_key] = reconstruction_errors(model, x[:n], y[:n], seed)
    return out
