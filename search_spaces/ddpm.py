"""DDPM-family studies: which U-Net width and depth, learning rate, noise schedule, EMA decay and
dropout give the best DDIM samples under a 25M-parameter cap.

The data keys (``dataset``, ``data_dir``, ``image_size``, ``fid_features``) are never searched: data
loads once per study, so they come from the profile or ``--set``. The U-Net's levels follow the image
size (``CHANNEL_MULTS``: down to 4-8 px) and its attention sits at the level in (8, 16] px, as Ho et
al. attend at 16 px; both can be fixed with ``--set``.
"""

from __future__ import annotations

from search_spaces.study import Params, Profile, Study
from trainables import metric_names as M
from trainables.ddpm_config import attention_level, parse_ints

CHANNEL_MULTS = {  # per image size: Ho et al.'s (1, 2, 2, 2) at 32 px; one more level per doubling beyond 64
    32: "1,2,2,2",  # 32 -> 4 px
    48: "1,2,2,2",  # 48 -> 6 px
    64: "1,2,2,2",  # 64 -> 8 px
    96: "1,1,2,2,2",  # 96 -> 6 px
    128: "1,1,2,2,4",  # 128 -> 8 px
}


def architecture(p: Params) -> dict:
    """Levels and attention from the (fixed) image size, unless fixed themselves."""
    size = p.fixed.get("image_size", 32)
    mult = p.fixed.get("channel_mult", CHANNEL_MULTS.get(size, "1,2,2,2"))
    return {"channel_mult": mult, "attention_resolutions": attention_level(size, len(parse_ints(mult)))}


def ddpm_space(p: Params) -> dict:
    """Width, depth, optimiser, schedule, EMA and dropout of a DDPM (every key a trial needs beyond the fixed ones)."""
    return {
        **architecture(p),
        "base_channels": p.categorical("base_channels", [32, 64, 96, 128]),  # Ho et al. 128; 32 trains on a CPU
        "num_res_blocks": p.int("num_res_blocks", 1, 3),  # depth per level; Ho et al. 2
        "lr": p.float("lr", 1e-4, 2e-3, log=True),  # Ho et al. 2e-4 for 800k steps; short runs want more
        "schedule": p.categorical("schedule", ["linear", "cosine"]),  # Ho et al. vs Nichol & Dhariwal
        "ema_decay": p.categorical("ema_decay", [0.99, 0.995, 0.999, 0.9995, 0.9999]),  # Ho et al. 0.9999 (long runs)
        "dropout": p.float("dropout", 0.0, 0.3),  # Ho et al. 0.1 on CIFAR-10, 0 on larger sets
    }


def image_space(p: Params) -> dict:
    """:func:`ddpm_space` for a study ranked by ``val_fid``, which needs a feature space."""
    if p.fixed.get("fid_features") == "none":
        raise ValueError("ddpm_image_sweep ranks trials by val_fid, which fid_features=none does not compute; fix: "
                         "--set fid_features=classifier (labelled data) or inception, or run ddpm_loss_sweep")
    return ddpm_space(p)


def loss_space(p: Params) -> dict:
    """:func:`ddpm_space` without the schedule: the denoising loss compares trials only at one schedule."""
    space = ddpm_space(p)
    space.pop("schedule")
    return space


DDPM_PROFILES = {
    # smoke: a generated 48 px image folder (python -m trainables.data.shapes_folder DIR; --set data_dir=DIR),
    # two tiny U-Nets, two reports each and no ASHA stop: a few minutes on 2 cores, most of it the FID classifier;
    # 5 DDIM steps: the sampler's code path at half the cost of 10 (sampling was most of the export's time)
    "smoke": Profile(num_samples=2, max_epochs=1, grace_period=2, reduction_factor=2, use_baseline=False,
                     fixed={"dataset": "image_folder", "image_size": 48, "channel_mult": "1,2", "reports_per_epoch": 2,
                            "batch_size": 32, "warmup_steps": 20, "eval_samples": 64, "ddim_steps": 5,
                            "loss_eval_images": 64},
                     ranges={"base_channels": [16], "num_res_blocks": (1, 1)}),
    # quick: MNIST padded to 32 px on 2 cores in under 30 minutes: two 0.69M-parameter U-Nets side by side, one
    # core each, five passes over the 50,000 training images at batch 32 (7,810 steps), five reports of 256
    # samples each. The U-Net is narrow where the images are large (16 channels at 32 px, 64 at 8 px, attention
    # at 8 px): 2.7x the training images a second of the 1.1M-parameter 32-64-64 one, and a lower FID at equal
    # CPU time. Samples are ancestral (eta = 1) in 50 steps: deterministic DDIM leaves speckled backgrounds
    # on models this short-trained (benchmarks/ANALYSIS.md, "DDPM quick profile")
    "quick": Profile(num_samples=2, max_epochs=5, grace_period=2, reduction_factor=2, max_concurrent=2,
                     fixed={"dataset": "mnist", "image_size": 32, "channel_mult": "1,2,4", "attention_resolutions": "8",
                            "reports_per_epoch": 1, "batch_size": 32, "warmup_steps": 100, "eval_samples": 256,
                            "ddim_steps": 50, "ddim_eta": 1.0, "loss_eval_images": 256},
                     ranges={"base_channels": [16], "num_res_blocks": (1, 1), "lr": (1e-3, 2e-3),
                             "ema_decay": [0.995, 0.999], "dropout": (0.0, 0.1)}),
    # full: a GPU; an image folder or STL-10 at 64-128 px (--set dataset=... data_dir=... image_size=...)
    "full": Profile(num_samples=40, max_epochs=60, grace_period=10, reduction_factor=3, max_concurrent=4,
                    use_baseline=False, cpus_per_trial=4.0,
                    fixed={"dataset": "stl10", "image_size": 64, "hflip": True, "eval_samples": 5000,
                           "ddim_steps": 50, "loss_eval_images": 2000}),
}

# a known-good first point for TPE to improve on: Ho et al.'s U-Net at CPU size, with the higher learning rate
# and the shorter EMA that gave the best MNIST samples in 1-3 epoch CPU runs (FID 204 after 3 epochs)
BASELINE = {"base_channels": 16, "num_res_blocks": 1, "lr": 2e-3, "schedule": "linear", "ema_decay": 0.995,
            "dropout": 0.0}

STUDIES = [
    Study(
        name="ddpm_image_sweep",
        description="Which U-Net width and depth, learning rate, noise schedule, EMA decay and dropout give the "
                    "best DDIM samples (FID against the validation images) under a 25M-parameter cap?",
        family="ddpm",
        metric=M.VAL_FID,
        mode="min",
        space=image_space,
        profiles=DDPM_PROFILES,
        baseline=BASELINE,
    ),
    Study(
        name="ddpm_loss_sweep",
        description="The same DDPM search ranked by the validation denoising loss (L_simple at seeded steps): for "
                    "unlabelled image folders without Inception-v3 weights, where no FID can be computed.",
        family="ddpm",
        metric=M.VAL_LOSS,
        mode="min",
        space=loss_space,
        profiles=DDPM_PROFILES,
        fixed={"fid_features": "none", "schedule": "linear"},
        baseline={k: v for k, v in BASELINE.items() if k != "schedule"},
    ),
]
