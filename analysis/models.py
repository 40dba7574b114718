"""``analysis.export --models DIR``: the best trial's model as TorchScript files that load without
genstudy (``torch.jit.load``) and the same modules as ``torch.export`` programs (``.pt2``, loaded with
``torch.export.load(path).module()``), with ``transforms.py`` and a ``README.md`` saying how to load each.

- VAE family: ``vae.pt`` with ``encode(x) -> (mu, logvar)``, ``decode(z) -> images in [0, 1]`` and
  ``forward(x) -> (x_hat, mu, logvar)`` (z drawn from q(z|x), as pytorch/examples' VAE does; a plain
  autoencoder returns logvar None and decodes mu); x is (B, C, H, W) in [0, 1] (``vae_transform``).
  ``vae.pt2`` is its forward, ``vae_encode.pt2`` and ``vae_decode.pt2`` its two methods.
- GAN family: ``generator.pt``: z (B, latent) or (B, latent, 1, 1) -> images in [-1, 1] (``denorm``
  for display), and ``discriminator.pt``: images in [-1, 1] (``gan_transform``) -> one raw score per
  image (B,), a logit for the bce loss. Spectral norm is folded into the weights before scripting.

The files hold the trial's kept checkpoint (its best validation epoch), in eval mode, on the CPU.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch import nn

from analysis.figures.common import Context
from analysis.items import Omitted, Section
from trainables.data.registry import image_shape
from trainables.export import Exportable, save_program

TRANSFORMS_SOURCE = Path(__file__).with_name("model_transforms.py")
VAE_FILE, GENERATOR_FILE, DISCRIMINATOR_FILE = "vae.pt", "generator.pt", "discriminator.pt"
N_EXAMPLE = 4  # rows of the example batch the .pt2 programs are traced with (the batch size stays dynamic)


class ScriptableVAE(nn.Module):
    """A trained :class:`trainables.models.vae.VAE` with pixels in [0, 1] on both sides."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.encoder, self.decoder = vae.encoder, vae.decoder
        self.latent_dim: int = vae.latent_dim
        self.deterministic: bool = vae.deterministic

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        h = self.encoder(x)
        if self.deterministic:
            return h, None
        mu, logvar = h.chunk(2, dim=1)  # (B, latent), (B, latent)
        return mu, logvar

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))  # (B, C, H, W), the decoder's mean image

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        mu, logvar = self.encode(x)
        z = mu
        if logvar is not None:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


class ScriptableGenerator(nn.Module):
    """z (B, latent) or (B, latent, 1, 1) -> images (B, C, H, W) in [-1, 1]."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.latent_dim: int = generator.latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z.flatten(1))


def _fold_spectral_norm(module: nn.Module) -> nn.Module:
    """A copy in which every spectrally normalised convolution is a plain one holding its current
    (normalised) weight. Parametrized copies share one generated class, and removing a
    parametrization edits that class, so the copy's layers are replaced instead."""
    from torch.nn.utils import parametrize

    out = copy.deepcopy(module)
    for name, m in module.named_modules():
        if not parametrize.is_parametrized(m):
            continue
        if not isinstance(m, nn.Conv2d):
            raise TypeError(f"{name}: folding a parametrization is defined for Conv2d only, not {type(m).__name__}")
        plain = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                          m.bias is not None, m.padding_mode)
        with torch.no_grad():
            plain.weight.copy_(m.weight)  # W / sigma(W), with the power iteration's stored vectors (eval mode)
            if m.bias is not None:
                plain.bias.copy_(m.bias)
        parent, _, child = name.rpartition(".")
        setattr(out.get_submodule(parent), child, plain)
    return out


def _save(module: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated but is what loads without genstudy
        scripted = torch.jit.script(module.cpu().eval())
    scripted.save(str(path))


def write(model: nn.Module, family: str, directory: Path, shape: tuple[int, int, int]) -> list[str]:
    """Write ``model`` (a VAE, or a GAN holding generator and discriminator) as TorchScript files and the
    same modules as ``torch.export`` programs (``.pt2``) into ``directory``, with ``transforms.py``;
    ``shape`` is the images' ``(C, H, W)``. Returns the file names written."""
    directory.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).cpu().eval()
    images = torch.rand(N_EXAMPLE, *shape, generator=torch.Generator().manual_seed(0))  # an example batch in [0, 1]
    if family == "vae":
        vae = ScriptableVAE(model)
        scripts = {VAE_FILE: vae}
        z = torch.randn(N_EXAMPLE, vae.latent_dim, generator=torch.Generator().manual_seed(0))
        programs = {"vae.pt2": (vae, images), "vae_encode.pt2": (_Method(vae, "encode"), images),
                    "vae_decode.pt2": (_Method(vae, "decode"), z)}
    elif family == "gan":
        generator, discriminator = ScriptableGenerator(model.generator), _fold_spectral_norm(model.discriminator)
        scripts = {GENERATOR_FILE: generator, DISCRIMINATOR_FILE: discriminator}
        z = torch.randn(N_EXAMPLE, generator.latent_dim, generator=torch.Generator().manual_seed(0))
        programs = {"generator.pt2": (generator, z), "discriminator.pt2": (discriminator, images * 2 - 1)}
    else:
        raise ValueError(f"no TorchScript export is defined for the {family!r} family")
    for name, module in scripts.items():
        _save(module, directory / name)
    for name, (module, example) in programs.items():
        save_program(Exportable(module, (example,), ("x",), ("y",), name), directory / name)
    shutil.copyfile(TRANSFORMS_SOURCE, directory / "transforms.py")
    return [*scripts, *programs, "transforms.py"]


class _Method(nn.Module):
    """One method of a module as its forward, for ``torch.export`` (which exports ``forward`` only)."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, x: torch.Tensor):
        return getattr(self.module, self.method)(x)


def section(ctx: Context, directory: Path) -> Section:
    """Write the best trial's models into ``directory`` and say how to load them."""
    r = ctx.record
    title = "Models that load without genstudy"
    best = r.best_trial
    if best is None:
        return Section(title, "", [Omitted("TorchScript models", "no trial has a finite study metric")])
    if r.family not in ("vae", "gan"):
        return Section(title, "", [Omitted("TorchScript models", f"no TorchScript export for the {r.family!r} family")])
    with ctx.progress.step(f"models: scripting trial {best.trial_id}'s checkpoint into {directory}"):
        model, cfg = ctx.model(best.run_id)
        names = write(model, r.family, directory, image_shape(cfg.dataset))
    at = best.best(r.metric, r.mode)
    logged = {m: best.at(m, at[0]) for m in best.history if m.startswith("test_") and at and best.at(m, at[0]) is not None}
    text = readme(r.family, best.trial_id, best.run_id, at[0] if at else None, logged, getattr(cfg, "latent_dim", None))
    (directory / "README.md").write_text(text)
    (directory / "metrics.json").write_text(json.dumps({"run_id": best.run_id, "trial_id": best.trial_id,
                                                        "epoch": at[0] if at else None, "test": logged}, indent=2))
    intro = (f"Written to {directory}: {', '.join(names)}, README.md and metrics.json, from trial {best.trial_id} "
             f"(the best on {r.metric}), its checkpoint of epoch {at[0] if at else '?'}. " + _how(r.family))
    return Section(title, intro, [])


def _how(family: str) -> str:
    if family == "vae":
        return ("Load with torch.jit.load('vae.pt'); x = vae_transform(images) from transforms.py gives pixels in [0, 1]; "
                "vae.encode(x) -> (mu, logvar), vae.decode(z) -> images in [0, 1], vae(x) -> (x_hat, mu, logvar). The "
                "same as torch.export programs: torch.export.load('vae.pt2').module()(x), and vae_encode.pt2, "
                "vae_decode.pt2.")
    return ("Load with torch.jit.load('generator.pt') and torch.jit.load('discriminator.pt'); G(z) gives images in [-1, 1] "
            "(denorm from transforms.py maps them to [0, 1]); D(gan_transform(images)) gives one raw score per image "
            "(a logit for bce: torch.sigmoid gives the probability of real). The same as torch.export programs: "
            "torch.export.load('generator.pt2').module()(z), and discriminator.pt2.")


def readme(family: str, trial_id: str, run_id: str, epoch: int | None, logged: dict, latent_dim: int | None) -> str:
    """The README.md written beside the models."""
    numbers = "\n".join(f"- `{k}` = {v:.4f}" for k, v in sorted(logged.items())) or "- (none logged)"
    if family == "vae":
        code = f"""```python
import torch, torch.nn.functional as F
from transforms import vae_transform

vae = torch.jit.load("vae.pt")           # no genstudy needed
x = vae_transform(test_images_uint8)     # (N, 1, 28, 28) in [0, 1]
x_hat, mu, logvar = vae(x)               # z ~ q(z|x); x_hat in [0, 1]
recon = F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x)
kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
samples = vae.decode(torch.randn(64, {latent_dim}))  # (64, 1, 28, 28) in [0, 1]
```"""
    else:
        code = f"""```python
import torch
from transforms import gan_transform, denorm

G = torch.jit.load("generator.pt")       # no genstudy needed
D = torch.jit.load("discriminator.pt")
images = denorm(G(torch.randn(64, {latent_dim})))       # (64, C, H, W) in [0, 1]
scores = D(gan_transform(real_images_uint8))           # (N,) raw scores; bce: torch.sigmoid(scores) = P(real)
```"""
    return f"""# Models of trial {trial_id} (MLflow run {run_id})

TorchScript files written by `python -m analysis.export --models`; they load with `torch.jit.load`
without genstudy installed. The same modules as `torch.export` programs (`*.pt2`) load with
`torch.export.load(path).module()` (their forward only: `vae_encode.pt2` and `vae_decode.pt2` hold the
VAE's two methods). Copy them under the names a notebook expects (e.g. `cp vae.pt VAE_model.pth`,
`cp generator.pt DCGAN_model_G.pth`, `cp discriminator.pt DCGAN_model_D.pth`).

The weights are the trial's kept checkpoint, epoch {epoch} (its best validation epoch). The test-split
numbers MLflow logged for that epoch (per image, in nats for a VAE):

{numbers}

{code}

`transforms.py` needs torch only: `vae_transform` (pixels in [0, 1]), `gan_transform` (pixels in
[-1, 1], what D takes) and `denorm` (G's [-1, 1] to [0, 1]).
"""
