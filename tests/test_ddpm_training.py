"""The DDPM training step against its definitions: Min-SNR-γ weights each image's ε-loss by its step's
min(SNR, 5) / SNR (Hang et al. 2023), and the EMA U-Net is the warmed-up running average
min(decay, (1 + n) / (10 + n)) of the trained weights."""

import copy

import pytest
import torch

from tests.ddpm_support import one_thread  # noqa: F401 - autouse fixture
from trainables.ddpm import _train_span
from trainables.ddpm_config import DDPMConfig
from trainables.diffusion import alphas_cumprod
from trainables.images import uint8_to_float
from trainables.models.unet import build_unet

TINY = dict(dataset="mnist", image_size=32, base_channels=8, channel_mult="1,2", num_res_blocks=1,
            attention_resolutions="", dropout=0.0, batch_size=16, warmup_steps=0, lr=1e-2)


class Span:
    """``_train_span`` from step 0 on a seeded U-Net, its EMA copy and Adam (no gradient scaling on the CPU)."""

    def __init__(self, cfg: DDPMConfig, x_train: torch.Tensor):
        torch.manual_seed(0)
        self.cfg, self.x_train = cfg, x_train
        self.unet = build_unet(cfg)
        self.ema = copy.deepcopy(self.unet).requires_grad_(False).eval()
        self.opt = torch.optim.Adam(self.unet.parameters(), lr=cfg.lr)
        self.abar = alphas_cumprod(cfg.schedule, cfg.timesteps)
        self.state = {"report": 0, "step": 0}

    def run(self, end: int) -> float:
        scaler = torch.amp.GradScaler("cuda", enabled=False)
        return _train_span(self.unet, self.ema, self.opt, scaler, self.x_train, self.abar, self.cfg, self.state, end,
                           self.cfg.batch_size)


def _one_image(n: int) -> torch.Tensor:
    image = torch.randint(0, 256, (1, 1, 32, 32), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    return image.repeat(n, 1, 1, 1)  # the batch is the same whatever the epoch's shuffle


def test_min_snr_weights_each_images_loss_by_its_step():
    span = Span(DDPMConfig(**TINY, loss_weighting="min_snr"), _one_image(16))
    seen = []  # (x_t, t, predicted noise) of the step's forward pass
    span.unet.register_forward_hook(lambda m, args, out: seen.append((args[0].detach(), args[1], out.detach())))
    loss = span.run(end=1)
    ((x_t, t, eps_pred),) = seen
    x0 = uint8_to_float(span.x_train[:1]) * 2 - 1
    a = span.abar[t].view(-1, 1, 1, 1)
    noise = (x_t - a.sqrt() * x0) / (1 - a).sqrt()  # the ε that made x_t from x_0
    per_image = (eps_pred - noise).pow(2).flatten(1).mean(1)
    snr = span.abar[t] / (1 - span.abar[t])
    weight = torch.minimum(snr, torch.tensor(5.0)) / snr
    assert 0.1 < (weight < 1).float().mean() < 0.9  # some steps weighted down, some not: the weighting shows
    assert loss == pytest.approx((weight * per_image).mean().item(), rel=1e-4)
    assert abs(loss - per_image.mean().item()) > 0.02 * loss  # and L_simple's unweighted mean is far off


@pytest.mark.parametrize("ema_decay", [0.9, 0.3])  # 0.9: the warm-up decides every step; 0.3: the decay from step 3
def test_ema_is_the_warmed_up_running_average_of_the_trained_unet(ema_decay):
    span = Span(DDPMConfig(**TINY, ema_decay=ema_decay), _one_image(16))
    trained = []  # the U-Net's weights after each step
    span.opt.register_step_post_hook(lambda *a: trained.append([p.detach().clone() for p in span.unet.parameters()]))
    expected = [p.detach().clone() for p in span.unet.parameters()]  # the average starts at the initial weights
    span.run(end=5)
    assert len(trained) == 5
    for n, weights in enumerate(trained, 1):
        decay = min(ema_decay, (1 + n) / (10 + n))  # after n updates: 2/11, 3/12, 4/13, ...
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights)]
    for e, got in zip(expected, span.ema.parameters()):
        assert torch.allclose(got, e, atol=1e-6)
    lag = sum((a - b).abs().sum() for a, b in zip(span.ema.parameters(), span.unet.parameters()))
    assert lag > 1e-2  # the average is not a copy of the trained weights
