"""VAE-family studies: beta sweep and the deterministic autoencoder's latent sweep."""

from __future__ import annotations

from search_spaces.study import Mutation, Params, Profile, Study
from trainables import metric_names as M


def vae_space(p: Params) -> dict:
    """beta, latent size, architecture and optimiser for a VAE on 28x28 images."""
    cfg = {
        "beta": p.float("beta", 0.0, 8.0, sqrt=True),  # uniform in sqrt(beta): half the mass in [0, 2]
        "latent_dim": p.int("latent_dim", 2, 128, log=True),  # 2: a plottable plane; MNIST needs < 50
        "arch": p.categorical("arch", ["mlp", "conv"]),
        "depth": p.int("depth", 1, 3),  # conv: 3 blocks take 28px to 3px
        "batchnorm": p.categorical("batchnorm", [False, True]),
        "dropout": p.float("dropout", 0.0, 0.3),  # > 0.3 starves a small decoder
        "lr": p.float("lr", 3e-4, 3e-3, log=True),  # Adam around 1e-3 (Kingma & Welling)
        "batch_size": p.categorical("batch_size", [64, 128, 256]),
        "beta_schedule": p.categorical("beta_schedule", ["constant", "linear", "cyclical"]),
    }
    cfg["width"] = _width(p, cfg["arch"])
    if cfg["beta_schedule"] != "constant":
        cfg["warmup_epochs"] = p.int("warmup_epochs", 1, 5)  # epochs of warm-up, or per cycle
    return cfg


def ae_space(p: Params) -> dict:
    """A plain autoencoder: latent size and architecture; reconstruction only."""
    cfg = {
        "latent_dim": p.int("latent_dim", 16, 1024, log=True),  # 16: compressive; 1024: over-complete
        "arch": p.categorical("arch", ["mlp", "conv"]),
        "depth": p.int("depth", 1, 3),
        "lr": p.float("lr", 3e-4, 3e-3, log=True),
        "batch_size": p.categorical("batch_size", [64, 128, 256]),
    }
    cfg["width"] = _width(p, cfg["arch"])
    return cfg


def _width(p: Params, arch: str) -> int:
    # mlp: hidden units (64-1024, pytorch/examples uses 400); conv: first-block channels (16-64)
    if arch == "mlp":
        return p.int("width", 64, 1024, log=True, variant="mlp")
    return p.int("width", 16, 64, log=True, variant="conv")


# The NLL estimate a binarised study measures when it ends (trainables.vae_nll), per profile: smoke in seconds;
# quick at the paper's k = 5000 on 500 images a split, 0.3-0.85 s an image on one thread (trainables/iwae.py):
# minutes; full: k = 5000 on the whole splits (a GPU's job)
SMOKE_NLL_IW = {"nll_iw_k": 50, "nll_iw_images": 200}
QUICK_NLL_IW = {"nll_iw_images": 500}

VAE_PROFILES = {
    # smoke: about a minute on 2 cores; small models on 4,000 images, scored on the first 2,000 validation and
    # test images (scoring all 20,000 cost twice the training)
    "smoke": Profile(num_samples=6, max_epochs=4, grace_period=1, reduction_factor=2, use_baseline=False,
                     fixed={"train_size": 4000, "eval_size": 2000, "image_every": 2, **SMOKE_NLL_IW},
                     ranges={"width[mlp]": (64, 256), "width[conv]": (8, 16), "depth": (1, 2)}),
    # quick: the search (about 7 minutes on 2 cores with all of MNIST), then its top 2 again with 2 fresh
    # seeds each (mean ± sd): 4 trainings to the end (3 x 3 would be 9, too many for the demo)
    "quick": Profile(num_samples=10, max_epochs=12, grace_period=2, reduction_factor=3, confirm=2, confirm_seeds=2,
                     fixed={"image_every": 4, **QUICK_NLL_IW},
                     ranges={"width[mlp]": (128, 768), "width[conv]": (16, 32)}),
    # full: a GPU machine or a cluster
    "full": Profile(num_samples=200, max_epochs=100, grace_period=5, reduction_factor=3,
                    max_concurrent=8, confirm=5, confirm_seeds=3, fixed={"image_every": 10}),
}

# Known-good first points for TPE to improve on (beta = 1: the ELBO itself). The small conv VAE
# reaches about 101 nats after 6 epochs on MNIST; the MLP is pytorch/examples' widened (about 102
# after 12 epochs) and costs a quarter of the conv's time per epoch.
VAE_BASELINES = (
    {"sqrt(beta)": 1.0, "latent_dim": 32, "arch": "conv", "depth": 3, "batchnorm": False,
     "dropout": 0.0, "lr": 1e-3, "batch_size": 128, "beta_schedule": "constant", "width[conv]": 32},
    {"sqrt(beta)": 1.0, "latent_dim": 32, "arch": "mlp", "depth": 2, "batchnorm": False,
     "dropout": 0.0, "lr": 1e-3, "batch_size": 128, "beta_schedule": "constant", "width[mlp]": 512},
)

STUDIES = [
    Study(
        name="vae_beta_sweep",
        description="How does beta trade reconstruction for KL? VAEs on MNIST ranked by the negative ELBO.",
        family="vae",
        metric=M.VAL_NELBO,  # val_loss would reward beta -> 0
        mode="min",
        space=vae_space,
        profiles=VAE_PROFILES,
        fixed={"dataset": "mnist", "likelihood": "bernoulli"},
        baseline=VAE_BASELINES,
        run_name_keys=("beta", "latent_dim", "arch"),
        mutations={"beta": Mutation(0.0, 8.0), "lr": Mutation(3e-4, 3e-3, log=True)},  # --scheduler pbt
    ),
    Study(
        name="ae_latent_sweep",
        description="How small can a plain autoencoder's code be? Reconstruction error against latent size.",
        family="vae",
        metric=M.VAL_RECON,
        mode="min",
        space=ae_space,
        profiles=VAE_PROFILES,
        fixed={"dataset": "mnist", "likelihood": "bernoulli", "deterministic": True, "beta": 0.0},
        run_name_keys=("latent_dim", "arch", "depth"),
    ),
]
