"""trainables.images.save_grid: torchvision's grid layout (2-pixel border of grey 0.5, RGB, rows of ``nrow``), written
without importing torchvision (its import pulls in torch._dynamo: about 3 CPU-s in an ``analysis.export``)."""

import sys

import numpy as np
import torch
from PIL import Image

from trainables.images import save_grid


def _pixels(path) -> np.ndarray:
    return np.array(Image.open(path))


def test_grid_is_torchvisions_layout_in_rgb(tmp_path):
    # five 1 x 2 x 3 images of one grey level each (k / 10), three a row: two rows, the last one short
    images = torch.stack([torch.full((1, 2, 3), k / 10) for k in range(5)])
    save_grid(images, tmp_path / "g.png", nrow=3)
    px = _pixels(tmp_path / "g.png")
    assert px.shape == (2 * (2 + 2) + 2, 3 * (3 + 2) + 2, 3)  # rows x (h + pad) + pad, cols x (w + pad) + pad, RGB
    for k in range(5):
        top, left = (k // 3) * 4 + 2, (k % 3) * 5 + 2
        assert (px[top:top + 2, left:left + 3] == int(np.float32(k / 10) * 255 + 0.5)).all(), k  # to the nearest
        px[top:top + 2, left:left + 3] = 128
    assert (px == 128).all()  # the rest, borders and the missing sixth tile, is grey 0.5


def test_one_image_has_no_border_and_values_are_clamped(tmp_path):
    save_grid(torch.tensor([[[[-1.0, 0.25], [2.0, 1.0]]]]), tmp_path / "one.png")
    px = _pixels(tmp_path / "one.png")
    assert px.shape == (2, 2, 3) and px[..., 0].tolist() == [[0, 64], [255, 255]]


def test_writes_without_torchvision(tmp_path, monkeypatch):
    for name in ("torchvision", "torchvision.utils"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it now raises ImportError
    save_grid(torch.rand(3, 3, 4, 4), tmp_path / "g.png")
    assert _pixels(tmp_path / "g.png").shape == (8, 3 * 6 + 2, 3)
