"""The DDPM U-Net: output shape at every supported size, parameter counts (by hand and of every
registry configuration), zero-initialised output, and clear errors for what it cannot take."""

import pytest
import torch

from search_spaces import STUDIES, Params
from search_spaces.ddpm import CHANNEL_MULTS
from trainables.ddpm_config import IMAGE_SIZES, DDPMConfig, attention_level, parse_ints
from trainables.families import FAMILIES
from trainables.models.params import count_params
from trainables.models.unet import build_unet
from tests.ddpm_support import one_thread  # noqa: F401 - autouse fixture


def hand_count(cfg: DDPMConfig) -> int:
    """Parameters of Ho et al.'s U-Net counted layer by layer, independently of the module code."""
    conv = lambda i, o, k: i * o * k * k + o  # noqa: E731
    gn = lambda c: 2 * c  # noqa: E731
    ch, emb = cfg.base_channels, 4 * cfg.base_channels
    res = lambda i, o: gn(i) + conv(i, o, 3) + emb * o + o + gn(o) + conv(o, o, 3) + (conv(i, o, 1) if i != o else 0)  # noqa: E731
    attn = lambda c: gn(c) + conv(c, 3 * c, 1) + conv(c, c, 1)  # noqa: E731
    total = (ch * emb + emb) + (emb * emb + emb) + conv(cfg.channels, ch, 3)
    skips, c, side = [ch], ch, cfg.image_size
    for level, m in enumerate(cfg.mults):
        for _ in range(cfg.num_res_blocks):
            total += res(c, ch * m) + (attn(ch * m) if side in cfg.attention else 0)
            c = ch * m
            skips.append(c)
        if level < len(cfg.mults) - 1:
            total += conv(c, c, 3)
            skips.append(c)
            side //= 2
    total += 2 * res(c, c) + attn(c)
    for level, m in reversed(list(enumerate(cfg.mults))):
        for _ in range(cfg.num_res_blocks + 1):
            total += res(c + skips.pop(), ch * m) + (attn(ch * m) if side in cfg.attention else 0)
            c = ch * m
        if level > 0:
            total += conv(c, c, 3)
            side *= 2
    return total + gn(c) + conv(c, cfg.channels, 3)


def test_ho_et_al_cifar10_model_has_its_published_size():
    # Ho et al.'s CIFAR-10 U-Net: 35.7M parameters; 35,746,307 is also what openai/improved-diffusion's
    # UNetModel counts for the same settings (num_heads=1, no scale-shift norm), checked by hand once
    cfg = DDPMConfig(dataset="image_folder", data_dir="x")
    assert FAMILIES["ddpm"].n_params(cfg) == hand_count(cfg) == 35_746_307


@pytest.mark.parametrize("size", IMAGE_SIZES)
def test_output_shape_at_every_supported_size(size):
    mult = CHANNEL_MULTS[size]
    cfg = DDPMConfig(dataset="image_folder", data_dir="x", image_size=size, base_channels=8, channel_mult=mult,
                     num_res_blocks=1, attention_resolutions=attention_level(size, len(parse_ints(mult))))
    assert cfg.attention, "every supported size has a level in (8, 16] px"
    unet = build_unet(cfg)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        out = unet(x, torch.tensor([0, 999]))
    assert out.shape == (2, 3, size, size)
    assert count_params(lambda: build_unet(cfg)) == sum(p.numel() for p in unet.parameters()) == hand_count(cfg)


def test_mnist_takes_one_channel():
    cfg = DDPMConfig(base_channels=8, channel_mult="1,2,2", num_res_blocks=2, attention_resolutions="8,16")
    with torch.no_grad():
        assert build_unet(cfg)(torch.randn(3, 1, 32, 32), torch.tensor([1, 2, 3])).shape == (3, 1, 32, 32)


def test_untrained_network_predicts_zero_noise():
    # zero-initialised output convolution (Ho et al.'s init_scale=0): the first loss is E[eps^2] = 1
    cfg = DDPMConfig(base_channels=16, channel_mult="1,2", num_res_blocks=1, attention_resolutions="")
    assert torch.count_nonzero(build_unet(cfg)(torch.randn(2, 1, 32, 32), torch.tensor([5, 500]))) == 0


def _registry_configs():
    """Every study's baseline and the largest configuration each profile can sample, as full configs."""
    import optuna

    from study.resolve import resolve

    out = []
    for name, study in STUDIES.items():
        if study.family != "ddpm":
            continue
        for profile, prof in study.profiles.items():
            r = resolve(name, profile, ["data_dir=/data"] if prof.fixed.get("dataset") == "image_folder" else [])
            points = {"largest": {"base_channels": 128, "num_res_blocks": 3}}
            if prof.use_baseline:
                points["baseline"] = dict(study.baselines[0])
            for label, point in points.items():
                fixed = {**r.fixed, **{k: v for k, v in point.items() if k not in prof.ranges or label == "baseline"}}
                space = r.study.space(Params(optuna.create_study().ask(), fixed, prof.ranges))
                out.append((f"{name}/{profile}/{label}", r.complete(space)))
    return out


REGISTRY = _registry_configs()


@pytest.mark.parametrize("name,config", REGISTRY, ids=[name for name, _ in REGISTRY])
def test_parameter_count_of_every_registry_config(name, config):
    cfg = DDPMConfig(**config)
    n = FAMILIES["ddpm"].n_params(cfg)
    assert n == hand_count(cfg)
    if name.endswith("baseline") or "/full/" not in name:
        assert n <= 25_000_000, f"{name}: {n:,} parameters"  # CPU profiles and baselines fit the cap


@pytest.mark.parametrize("overrides,match", [
    ({"image_size": 40}, "image_size 40 is not supported"),
    ({"image_size": 48, "channel_mult": "1,2,2,2,2"}, "cannot take 48 px images.*at most 4 levels"),
    ({"image_size": 48, "channel_mult": "1,2,2,2", "attention_resolutions": "16"}, "48, 24, 12, 6 px.*e.g. 12"),
    ({"dataset": "mnist", "image_size": 64}, "padded to 32 px"),
    ({"base_channels": 20}, "multiple of 8"),
    ({"ddim_steps": 2000}, "ddim_steps"),
])
def test_configs_the_unet_cannot_take_fail_clearly(overrides, match):
    base = {"dataset": "image_folder", "data_dir": "x", "image_size": 32, "attention_resolutions": ""}
    with pytest.raises(ValueError, match=match):
        DDPMConfig(**{**base, **overrides})


def test_bad_image_size_exits_2_naming_the_fix(capsys):
    from study.run import main

    code = main(["ddpm_image_sweep", "--profile", "smoke", "--set", "data_dir=/nowhere", "--set", "image_size=40",
                 "--print"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "image_size 40 is not supported" in err and "fix:" in err


def test_group_norm_keeps_four_channels_per_group():
    """Ho et al.'s 32 groups from 128 channels on; narrower layers get fewer groups, never one-channel ones
    (which would erase every channel's mean, and with it the brightness of x_t)."""
    from trainables.models.unet import norm

    assert {c: norm(c).num_groups for c in (8, 16, 32, 96, 128, 256)} == {8: 2, 16: 4, 32: 8, 96: 16, 128: 32, 256: 32}
