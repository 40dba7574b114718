"""VAE-family grid studies: fixed comparisons that course notebooks ask for, each setting trained once.

``vae_beta_grid`` compares beta 0.8, 1 and 1.2, each with a constant beta and with a linear warm-up,
on the MLP VAE of pytorch/examples (784-400-20, ReLU, Adam 1e-3, batch 128) for 20 epochs. The
course seed these comparisons come from (seed 003) is not in this repository; the architecture is
the classic pytorch/examples VAE, an assumption docs/analysis.md states. ``ae_latent_grid`` trains a plain
convolutional autoencoder at latent sizes 16, 128 and 1024.
"""

from __future__ import annotations

import math

from search_spaces.study import Profile, Reference, Study
from search_spaces.vae import QUICK_NLL_IW, SMOKE_NLL_IW, ae_space, vae_space
from trainables import metric_names as M

SEED_003 = "seed 003's reference, on its own test set"
BETA_GRID = {"beta": [0.8, 1.0, 1.2], "beta_schedule": ["constant", "linear"]}
LATENT_GRID = {"latent_dim": [16, 128, 1024]}

# pytorch/examples' VAE: fc1 784 -> 400, fc21/fc22 400 -> 20, fc3 20 -> 400, fc4 400 -> 784
SEED_MLP = {"arch": "mlp", "depth": 1, "width": 400, "latent_dim": 20, "batchnorm": False, "dropout": 0.0,
            "lr": 1e-3, "batch_size": 128}
# the VAE studies' conv baseline: its last feature map (128 x 3 x 3 = 1152 units) is wider than every
# code on the grid, so no code is capped by a narrower layer
AE_CONV = {"arch": "conv", "depth": 3, "width": 32, "lr": 1e-3, "batch_size": 128}


def grid_size(grid: dict) -> int:
    return math.prod(len(v) for v in grid.values())


def _profiles(grid: dict, quick_epochs: int, image_every: int, smoke_fixed: dict) -> dict[str, Profile]:
    n = grid_size(grid)  # a grid study trains every point once: the grid sets the trial count
    return {
        # smoke: under a minute or two on 2 cores; 4,000 training images, the full validation and test sets
        "smoke": Profile(num_samples=n, max_epochs=2, grace_period=2, use_baseline=False,
                         fixed={"train_size": 4000, "image_every": 2, **SMOKE_NLL_IW, **smoke_fixed}),
        # quick: all of MNIST, the seed's training length
        "quick": Profile(num_samples=n, max_epochs=quick_epochs, grace_period=quick_epochs, use_baseline=False,
                         fixed={"image_every": image_every, **QUICK_NLL_IW}),
        # full: the same grid, more trials at once on a bigger machine
        "full": Profile(num_samples=n, max_epochs=quick_epochs, grace_period=quick_epochs, use_baseline=False,
                        max_concurrent=n, fixed={"image_every": image_every}),
    }


STUDIES = [
    Study(
        name="vae_beta_grid",
        description="Beta 0.8, 1 and 1.2, constant or linearly warmed up, on pytorch/examples' MLP VAE for 20 epochs: "
                    "recon and KL side by side (analysis.export --compare beta).",
        family="vae",
        metric=M.VAL_NELBO,  # comparable across beta; the comparison table shows every metric
        mode="min",
        space=vae_space,
        profiles=_profiles(BETA_GRID, quick_epochs=20, image_every=5, smoke_fixed={"warmup_epochs": 1}),
        fixed={"dataset": "mnist", "likelihood": "bernoulli", **SEED_MLP,
               "warmup_epochs": 10},  # linear: beta reaches its value after half of the 20 epochs
        grid=BETA_GRID,
        references=(Reference({"beta": 0.8}, M.TEST_RECON, 130.0, SEED_003),
                    Reference({"beta": 1.2}, M.TEST_RECON, 155.0, SEED_003)),
    ),
    Study(
        name="ae_latent_grid",
        description="A plain convolutional autoencoder with a 16-, 128- and 1024-d code: reconstructions side by side "
                    "(analysis.export --compare latent_dim).",
        family="vae",
        metric=M.VAL_RECON,
        mode="min",
        space=ae_space,
        profiles=_profiles(LATENT_GRID, quick_epochs=5, image_every=5, smoke_fixed={}),  # 5 epochs: ~40 s each on a core
        fixed={"dataset": "mnist", "likelihood": "bernoulli", "deterministic": True, "beta": 0.0, **AE_CONV},
        grid=LATENT_GRID,
    ),
]
