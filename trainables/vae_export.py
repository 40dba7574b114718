"""What a trained VAE is exported as (:class:`trainables.export.Exports`).

* The MLflow model, :class:`NegativeELBO`: images -> each image's negative ELBO in nats, the quantity
  ``val_nelbo`` / ``test_nelbo`` average (a deterministic autoencoder: its reconstruction loss, the
  quantity of ``*_recon``). One input and one output tensor, so MLflow stores its input example and
  serves it as a pyfunc model.
* ``encoder.pt2``: images -> (mu, logvar) (an autoencoder: its code z).
* ``decoder.pt2``: latents z -> the decoder's mean images in [0, 1]; with z ~ N(0, I), samples of the VAE.
* ``vae.pt2`` and the TorchScript ``vae.pt`` (:class:`ScriptableVAE`): images -> (x_hat, mu, logvar) with
  z drawn from q(z|x), as pytorch/examples' VAE does; ``vae.pt`` keeps ``encode`` and ``decode`` too.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from trainables.export import Exportable, Exports
from trainables.models.vae import VAE
from trainables.vae import loss_terms


class NegativeELBO(nn.Module):
    """Images (B, C, H, W) in [0, 1] -> per-image recon + KL in nats (B,), with one posterior sample
    z = mu + eps * exp(logvar / 2) whose eps comes from torch's global generator (``torch.manual_seed``
    makes it repeatable); a deterministic autoencoder returns its reconstruction loss."""

    def __init__(self, vae: VAE, likelihood: str):
        super().__init__()
        self.vae, self.likelihood = vae, likelihood

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recon, kl = loss_terms(self.vae, x, self.likelihood)
        return recon + kl


class Encoder(nn.Module):
    """Images (B, C, H, W) in [0, 1] -> (mu, logvar), each (B, latent); an autoencoder: its code z (B, latent)."""

    def __init__(self, vae: VAE):
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor):
        mu, logvar = self.vae.encode(x)
        return mu if logvar is None else (mu, logvar)


class Decoder(nn.Module):
    """Latents z (B, latent) -> the decoder's mean images (B, C, H, W) in [0, 1]."""

    def __init__(self, vae: VAE):
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.mean_image(self.vae.decode(z))


class ScriptableVAE(nn.Module):
    """A trained VAE with pixels in [0, 1] on both sides, scriptable (TorchScript keeps its methods)."""

    def __init__(self, vae: VAE):
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


def vae_exports(vae: VAE, likelihood: str, images: torch.Tensor) -> Exports:
    """The MLflow model, the ``encoder``, ``decoder`` and ``vae`` programs and the ``vae`` script;
    ``images``: an example batch in [0, 1]."""
    vae, images = vae.cpu().eval(), images.cpu()
    z = torch.randn(len(images), vae.latent_dim, generator=torch.Generator().manual_seed(0))
    what = "reconstruction loss" if vae.deterministic else "negative ELBO"
    model = Exportable(NegativeELBO(vae, likelihood), (images,), ("images",), ("nats",),
                       f"images (B, C, H, W) in [0, 1] -> per-image {what} in nats (B,)")
    codes = ("z",) if vae.deterministic else ("mu", "logvar")
    encoder = Exportable(Encoder(vae), (images,), ("images",), codes,
                         f"images (B, C, H, W) in [0, 1] -> {', '.join(codes)} (B, latent)")
    decoder = Exportable(Decoder(vae), (z,), ("z",), ("images",), "z (B, latent) -> images (B, C, H, W) in [0, 1]")
    scriptable = ScriptableVAE(vae)
    programs = {"encoder": encoder, "decoder": decoder}
    if not vae.deterministic:  # an autoencoder's forward has no logvar to return: its encoder and decoder say it all
        programs["vae"] = Exportable(scriptable, (images,), ("images",), ("x_hat", "mu", "logvar"),
                                     "images (B, C, H, W) in [0, 1] -> (x_hat, mu, logvar), z ~ q(z|x)")
    return Exports(model, programs, scripts={"vae": scriptable})
