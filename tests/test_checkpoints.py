"""Checkpoints: atomic writes, no pickle, clear errors for corrupt or truncated files."""

import pytest
import torch

from trainables.checkpoint import CheckpointError, load_state, save_model, save_state
from trainables.families import restore_model
from trainables.models.vae import build_vae
from trainables.vae_config import VAEConfig

CFG = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=16, latent_dim=4)


@pytest.fixture
def checkpoint(tmp_path):
    model = build_vae(CFG, (1, 28, 28))
    save_model(tmp_path, model, CFG.to_dict(), {"family": "vae", "image_shape": [1, 28, 28], "epoch": 1})
    save_state(tmp_path, {"epoch": 1, "optimizer": {}, "torch_rng": torch.get_rng_state()})
    return tmp_path, model


def test_roundtrip(checkpoint):
    path, model = checkpoint
    loaded, cfg = restore_model(path)
    assert cfg == CFG
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    assert not list(path.glob("*.tmp"))  # written to a temporary name, then renamed


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_weights_name_the_file(checkpoint, damage):
    path, _ = checkpoint
    f = path / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a safetensors file" * 10)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        restore_model(path)


def test_corrupt_config_names_the_file(checkpoint):
    path, _ = checkpoint
    (path / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="config.json"):
        restore_model(path)


def test_trainer_state_refuses_pickled_code(checkpoint, tmp_path):
    path, _ = checkpoint

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"epoch": 1, "payload": Evil()}, path / "trainer_state.pt")
    with pytest.raises(CheckpointError, match="trainer_state.pt"):
        load_state(path, torch.device("cpu"))
