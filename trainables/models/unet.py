"""The DDPM U-Net (Ho et al. 2020, as ported to PyTorch in openai/improved-diffusion): ε(x_t, t).

Levels of ``num_res_blocks`` residual blocks at ``base_channels * channel_mult[i]`` channels, halving
the side between levels (stride-2 3x3 convolution) and doubling it back in the decoder (nearest
neighbour + 3x3 convolution), with skip connections from every encoder block to the decoder (which
has one more block per level); single-head self-attention at the ``attention_resolutions``; a middle
of residual block, attention, residual block. The time step enters as a sinusoidal embedding through
a two-layer MLP, added to every residual block. The last convolution of every residual branch, of
every attention block and of the output is zero-initialised, so the untrained network is close to the
identity on its residual path (Ho et al.'s ``init_scale=0``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainables.ddpm_config import DDPMConfig

MAX_GROUPS = 32  # group norm groups (Ho et al., at 128+ channels)
MIN_GROUP = 4  # channels per group at least (Ho et al.'s 128 / 32): one-channel groups would erase every channel's mean


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding ``(B, dim)`` of time steps ``t`` ``(B,)``: ``[sin(t f_k), cos(t f_k)]`` with
    ``f_k = max_period^(-k / (dim/2 - 1))`` (Ho et al.'s ``get_timestep_embedding``, from tensor2tensor)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def norm(channels: int) -> nn.GroupNorm:
    """Group norm with Ho et al.'s 32 groups, halved until each group has at least 4 channels (so from 128 on as Ho).

    Narrow U-Nets with 32 one-channel groups (instance norm) cannot see the mean brightness of x_t: the
    output layer's norm removes each channel's spatial mean, so ε's mean cannot follow it, and DDIM samples
    get grey, speckled backgrounds (seen on MNIST with 32 base channels)."""
    groups = math.gcd(MAX_GROUPS, channels)
    while groups > 1 and channels // groups < MIN_GROUP:
        groups //= 2
    return nn.GroupNorm(groups, channels)


def zeroed(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv, + projected time embedding, GroupNorm-SiLU-dropout-conv (zero-init), + skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.in_layers = nn.Sequential(norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, c_out))
        self.out_layers = nn.Sequential(norm(c_out), nn.SiLU(), nn.Dropout(dropout),
                                        zeroed(nn.Conv2d(c_out, c_out, 3, padding=1)))
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)  # Ho et al.'s nin_shortcut

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x) + self.emb(emb)[:, :, None, None]
        return self.skip(x) + self.out_layers(h)


class Attention(nn.Module):
    """Single-head self-attention over the H*W positions, with a zero-initialised output projection."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = zeroed(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)  # (B, HW, C) each
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(C)) v
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Step(nn.ModuleList):
    """Modules applied in order, each given the time embedding (residual blocks use it)."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = layer(x, emb)
        return x


class UNet(nn.Module):
    """ε-prediction network: ``(x_t (B, C, S, S) in about [-1, 1], t (B,) ints) -> ε (B, C, S, S)``."""

    def __init__(self, cfg: DDPMConfig):
        super().__init__()
        ch, mults, attn = cfg.base_channels, cfg.mults, set(cfg.attention)
        c_img, size = cfg.channels, cfg.image_size
        emb_dim = 4 * ch
        self.base_channels = ch
        self.time_mlp = nn.Sequential(nn.Linear(ch, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(c_img, ch, 3, padding=1)
        self.down = nn.ModuleList()
        skips, c, side = [ch], ch, size
        for level, mult in enumerate(mults):
            for _ in range(cfg.num_res_blocks):
                block = [ResBlock(c, ch * mult, emb_dim, cfg.dropout)]
                c = ch * mult
                if side in attn:
                    block.append(Attention(c))
                self.down.append(Step(block))
                skips.append(c)
            if level != len(mults) - 1:
                self.down.append(Step([Downsample(c)]))
                skips.append(c)
                side //= 2
        self.middle = Step([ResBlock(c, c, emb_dim, cfg.dropout), Attention(c), ResBlock(c, c, emb_dim, cfg.dropout)])
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(cfg.num_res_blocks + 1):
                block = [ResBlock(c + skips.pop(), ch * mult, emb_dim, cfg.dropout)]
                c = ch * mult
                if side in attn:
                    block.append(Attention(c))
                if level != 0 and i == cfg.num_res_blocks:
                    block.append(Upsample(c))
                    side *= 2
                self.up.append(Step(block))
        self.out = nn.Sequential(norm(c), nn.SiLU(), zeroed(nn.Conv2d(c, c_img, 3, padding=1)))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.base_channels))
        hs = [self.conv_in(x)]
        for step in self.down:
            hs.append(step(hs[-1], emb))
        h = self.middle(hs[-1], emb)
        for step in self.up:
            h = step(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


def build_unet(cfg: DDPMConfig) -> UNet:
    """The U-Net ``cfg`` describes (its image shape comes from ``cfg.dataset`` and ``cfg.image_size``)."""
    return UNet(cfg)
