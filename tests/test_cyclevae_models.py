"""Every cycle-consistent VAE config builds with the right shapes and the counted parameters."""

import pytest
import torch
from torch import nn

from trainables.cyclevae_config import CycleVAEConfig
from trainables.models.cyclevae import INIT_STD, build_cyclevae, decoder_size, encoder_size
from trainables.models.params import count_params

CONFIGS = [
    dict(dataset="mnist", z_dim=16, s_dim=16),  # Table 1, MNIST
    dict(dataset="mnist", z_dim=64, s_dim=64),
    dict(dataset="sprites", z_dim=512, s_dim=64),  # Table 1, 2D Sprites
    dict(dataset="sprites", z_dim=1024, s_dim=512),
    dict(dataset="synthetic", z_dim=3, s_dim=5, width=8),
    dict(dataset="mnist", z_dim=32, s_dim=8, width=32),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: f"{kw['dataset']}-{kw['z_dim']}-{kw['s_dim']}")
def test_builds_with_shapes_and_counted_parameters(kw):
    cfg = CycleVAEConfig(**kw)
    model = build_cyclevae(cfg)
    x = torch.rand(2, *cfg.image_shape)
    mu, logvar, s = model.encode(x)
    assert mu.shape == logvar.shape == (2, cfg.z_dim) and s.shape == (2, cfg.s_dim)
    out = model.decode(mu, s)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1  # sigmoid images
    assert count_params(lambda: build_cyclevae(cfg)) == sum(p.numel() for p in model.parameters())


def test_release_parameter_count_16_16():
    # encoder: convs 1*16*25+16, 16*32*25+32, 32*64*25+64 = 64,512; three heads 3 * (256*16+16) = 12,336
    # decoder: two inputs 2 * (16*256+256) = 8,704; deconvs 128*32*16+32, 32*16*16+16, 16*1*16+1 = 74,033
    assert count_params(lambda: build_cyclevae(CycleVAEConfig())) == 64_512 + 12_336 + 8_704 + 74_033


def test_spatial_sizes():
    assert [encoder_size(s) for s in (28, 60)] == [2, 6]
    assert [decoder_size(s) for s in (28, 60)] == [2, 6]
    with pytest.raises(ValueError, match="8 \\* s0 \\+ 12"):
        decoder_size(32)


def test_release_initialisation():
    torch.manual_seed(0)
    model = build_cyclevae(CycleVAEConfig(z_dim=64, s_dim=64))
    for m in model.modules():
        if type(m) in (nn.Conv2d, nn.Linear):
            assert m.weight.std().item() == pytest.approx(INIT_STD, rel=0.15) and not m.bias.any()
        if isinstance(m, nn.ConvTranspose2d):  # the release's weights_init does not match it: PyTorch's default
            assert m.bias.any()


def test_lr_steps_down_as_the_release_schedules_it():
    cfg = CycleVAEConfig(lr=1e-3, lr_step_epochs=80, lr_gamma=0.1)
    assert [cfg.lr_at(e) for e in (1, 80, 81, 160, 161)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5])


@pytest.mark.parametrize("bad", [dict(dataset="cifar10"), dict(reverse_pairs="same"), dict(lr=0.0), dict(z_dim=0),
                                 dict(kl_weight=-1.0), dict(lr_gamma=1.5), dict(batch_size=1),
                                 dict(train_size=10, batch_size=64), dict(eval_size=3)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        CycleVAEConfig(**bad)


def test_config_rejects_unknown_key():
    with pytest.raises(TypeError):
        CycleVAEConfig(style_dim=16)
