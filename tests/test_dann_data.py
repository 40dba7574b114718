"""The DANN families' data: the two moons, the MNIST-M builder and loader (on files in the release's
layout), its cache, its errors, and MNIST -> MNIST-M split by the validation rule."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainables.data import DataUnavailable, check_splits
from trainables.data import mnist_m as mm
from trainables.data.mnist_m_domains import load_mnist_m_domains
from trainables.data.moons import load_moons, make_domain_moons, rotation_matrix


def test_moons_150_per_class_per_split_and_rotated_target():
    from sklearn.datasets import make_moons

    d = load_moons({"dataset": "moons"})
    assert d.split_sizes() == dict.fromkeys(("source_train", "source_val", "source_test", "target_train",
                                             "target_val", "target_test"), 300)
    for split in d.split_sizes():
        assert np.bincount(d[split].y).tolist() == [150, 150]
    assert np.allclose(d["source_train"].x.mean(axis=0), 0, atol=1e-6)  # shifted by its own mean
    x, _ = make_moons(300, noise=0.05, random_state=1)
    x_t, y_t = make_moons(300, noise=0.05, random_state=2)  # the authors' target draw, then rotated 35 degrees
    np.testing.assert_allclose(d["target_train"].x, (2 * (x_t - x.mean(0))) @ rotation_matrix(35).T, atol=1e-5)
    assert np.array_equal(d["target_train"].y, y_t)
    assert rotation_matrix(90) @ np.array([1.0, 0.0]) == pytest.approx([0.0, 1.0])  # counter-clockwise
    assert check_splits(d) and d.digest() == make_domain_moons().digest() != make_domain_moons(rotation=20).digest()


def test_blend_is_absolute_difference_per_channel():
    digits = np.array([[[0, 255], [100, 30]]], np.uint8)  # (1, 2, 2)
    patches = np.stack([np.full((2, 2), v, np.uint8) for v in (10, 200, 30)])[None]  # (1, 3, 2, 2)
    out = mm.blend(digits, patches)
    assert out.dtype == np.uint8 and out.shape == (1, 3, 2, 2)
    assert out[0, 0].tolist() == [[10, 245], [90, 20]]
    assert out[0, 1].tolist() == [[200, 55], [100, 170]]
    assert out[0, 2].tolist() == [[30, 225], [70, 0]]


def _photos():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), rng.integers(0, 256, (29, 90, 3), dtype=np.uint8)]


def test_builder_shape_range_determinism_and_patches_from_the_photos():
    digits = np.random.default_rng(1).integers(0, 256, (200, 28, 28), dtype=np.uint8)
    photos = _photos()
    a, b, c = (mm.build_mnist_m(digits, photos, seed) for seed in (7, 7, 8))
    assert a.shape == (200, 3, 28, 28) and a.dtype == np.uint8 and a.min() == 0 and a.max() == 255
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    blank = mm.build_mnist_m(np.zeros_like(digits), photos, 7)  # a zero digit leaves the patch
    windows = [np.lib.stride_tricks.sliding_window_view(p, (28, 28), axis=(0, 1)) for p in photos]
    for i in range(0, 200, 37):
        assert any((w == blank[i]).all(axis=(2, 3, 4)).any() for w in windows)
    assert np.array_equal(a, mm.blend(digits, blank))  # the same patches, blended


def test_skimage_photos_are_colour_photographs():
    photos = mm.skimage_photos()
    assert set(photos) == set(mm.SKIMAGE_PHOTOS)
    assert all(p.ndim == 3 and p.shape[2] == 3 and p.dtype == np.uint8 and min(p.shape[:2]) >= 28
               for p in photos.values())


def _write_release(root: Path, n_train=12, n_test=5, seed=0):
    """The distributed layout: mnist_m/mnist_m_{train,test}/NNNNNNNN.png + mnist_m_{train,test}_labels.txt."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        folder = root / "mnist_m" / f"mnist_m_{split}"
        folder.mkdir(parents=True)
        x = rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8)
        y = rng.integers(0, 10, n)
        for i in range(n):
            Image.fromarray(x[i]).save(folder / f"{i:08d}.png")
        lines = "".join(f"{i:08d}.png {y[i]}\n" for i in range(n))
        (root / "mnist_m" / f"mnist_m_{split}_labels.txt").write_text(lines)
        arrays[split] = (x.transpose(0, 3, 1, 2), y)
    return arrays


def _mnist_like(n_train=30, n_test=10):
    rng = np.random.default_rng(2)
    return (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_train), rng.integers(0, 10, n_test))


def test_loader_reads_the_release_layout_and_caches_it(tmp_path):
    written = _write_release(tmp_path)
    for _ in range(2):  # read, then from the cache
        got = mm.load_mnist_m(tmp_path, *_mnist_like(), source="auto")
        assert np.array_equal(got.x_train, written["train"][0]) and np.array_equal(got.y_train, written["train"][1])
        assert np.array_equal(got.x_test, written["test"][0]) and np.array_equal(got.y_test, written["test"][1])
        assert "distributed" in got.origin
    assert len(list((tmp_path / mm.CACHE).glob("mnist_m-files-*.npz"))) == 1


def test_corrupt_release_file_is_named(tmp_path):
    _write_release(tmp_path)
    bad = tmp_path / "mnist_m" / "mnist_m_test" / "00000003.png"
    bad.write_bytes(bad.read_bytes()[:20])
    with pytest.raises(DataUnavailable, match="00000003.png"):
        mm.load_mnist_m(tmp_path, *_mnist_like(), source="files")
    (tmp_path / "mnist_m" / "mnist_m_test_labels.txt").write_text("00000000.png seven\n")
    with pytest.raises(DataUnavailable, match="mnist_m_test_labels.txt, line 1"):
        mm.load_mnist_m(tmp_path, *_mnist_like(), source="files")
    assert not (tmp_path / mm.CACHE).exists() or not any((tmp_path / mm.CACHE).iterdir())


def test_incomplete_release_names_what_is_missing(tmp_path):
    _write_release(tmp_path)
    (tmp_path / "mnist_m" / "mnist_m_train_labels.txt").unlink()
    with pytest.raises(DataUnavailable, match="mnist_m_train_labels.txt not found"):
        mm.load_mnist_m(tmp_path, *_mnist_like())


def test_no_files_and_no_photos_names_both_remedies(tmp_path):
    with pytest.raises(DataUnavailable, match=r"no MNIST-M files.*no photos.*fix: put the distributed MNIST-M files.*"
                                              r"--set photos=FOLDER"):
        mm.load_mnist_m(tmp_path, *_mnist_like(), photos="no_such_folder")
    with pytest.raises(DataUnavailable, match="mnist_m_train"):
        mm.load_mnist_m(tmp_path, *_mnist_like(), source="files")


def test_build_from_a_photo_folder_is_cached_atomically(tmp_path, monkeypatch):
    (tmp_path / "photos").mkdir()
    for i, p in enumerate(_photos()):
        Image.fromarray(p).save(tmp_path / "photos" / f"p{i}.png")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user_cache"))

    def interrupted(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(np, "savez", interrupted)
        built = mm.load_mnist_m(tmp_path, *_mnist_like(), photos="photos", seed=3)  # served, not cached
    folders = [d for d in (tmp_path / mm.CACHE, tmp_path / "user_cache") if d.exists()]
    leftovers = [p for d in folders for p in d.rglob("*") if p.is_file()]
    assert leftovers == []  # nothing half-written
    again = mm.load_mnist_m(tmp_path, *_mnist_like(), photos="photos", seed=3)
    cached = list((tmp_path / mm.CACHE).glob("mnist_m-built-*.npz"))
    assert len(cached) == 1 and not list((tmp_path / mm.CACHE).glob(".*"))
    x_train, x_test, y_train, _ = _mnist_like()
    assert np.array_equal(built.x_train, again.x_train) and np.array_equal(again.y_train, y_train)
    assert np.array_equal(again.x_train, mm.build_mnist_m(np.concatenate([x_train, x_test]), _photos(), 3)[:30])
    assert "2 of the photos in photos" in again.origin
    os.utime(cached[0])
    assert np.array_equal(mm.load_mnist_m(tmp_path, *_mnist_like(), photos="photos", seed=3).x_test, again.x_test)


@pytest.fixture(scope="module")
def mnist_m_root(tmp_path_factory, mnist_root):
    root = tmp_path_factory.mktemp("mnist_m_root")
    (root / "MNIST").symlink_to(mnist_root / "MNIST")
    return root


def test_mnist_to_mnist_m_splits_follow_the_validation_rule(mnist_m_root):
    from trainables.data import load_dataset

    d = load_mnist_m_domains({"dataset": "mnist_m"}, mnist_m_root)
    assert d.split_sizes() == {"source_train": 50000, "source_val": 10000, "source_test": 10000,
                               "target_train": 50000, "target_val": 10000, "target_test": 10000}
    mnist = load_dataset("mnist", mnist_m_root)
    assert np.array_equal(d["source_val"].x, mnist.x_val) and np.array_equal(d["target_val"].y, mnist.y_val)
    assert np.array_equal(d["target_train"].y, mnist.y_train) and np.array_equal(d["target_test"].y, mnist.y_test)
    assert d["target_train"].x.shape[1:] == (3, 28, 28) and "skimage.data" in d.origin
    # MNIST-M image i is MNIST image i blended (seed 42, skimage's photographs): the validation split is the tail
    digits = np.concatenate([mnist.x_train, mnist.x_val, mnist.x_test])[:, 0]
    built = mm.build_mnist_m(digits, list(mm.skimage_photos().values()), 42)
    assert np.array_equal(d["target_val"].x, built[50000:60000]) and np.array_equal(d["target_test"].x, built[60000:])
    small = load_mnist_m_domains({"dataset": "mnist_m", "source_train_size": 100, "target_train_size": 80,
                                  "eval_size": 50}, mnist_m_root)
    assert small.split_sizes() == {"source_train": 100, "source_val": 50, "source_test": 50, "target_train": 80,
                                   "target_val": 50, "target_test": 50}
    assert np.array_equal(small["target_val"].x, d["target_val"].x[:50])
