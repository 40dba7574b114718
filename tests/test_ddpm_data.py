"""DDPM data: STL-10 on generated files in its binary layout, image folders of mixed-size JPEG and
PNG images, the resized cache, MNIST padded to 32 px, and one-line errors for bad input."""

from pathlib import Path

import numpy as np
import pytest

from trainables.data import DataUnavailable
from trainables.data import image_folder as folder_module
from trainables.data.ddpm_data import load_ddpm_data
from trainables.data.image_cache import CACHE_FOLDER, resize_center_crop
from trainables.data.shapes_folder import CLASSES, write_shapes_folder


def _stl_images(n: int, seed: int) -> np.ndarray:
    """(n, 3, 96, 96) row-major images with an orientation mark: a bright top band, a dark left band."""
    rng = np.random.default_rng(seed)
    x = rng.integers(60, 200, (n, 3, 96, 96), dtype=np.uint8)
    x[:, :, :8, :] = 250  # top rows
    x[:, :, 8:, :8] = 5  # left columns below them
    return x


def write_stl10(root: Path, n_train=20, n_test=12, n_unlabeled=30, seed=0) -> dict:
    """STL-10's binary layout: per image, 3 channels one after another, each column-major; labels 1..10."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    arrays = {"train": _stl_images(n_train, seed), "test": _stl_images(n_test, seed + 1),
              "unlabeled": _stl_images(n_unlabeled, seed + 2)}
    labels = {"train": rng.integers(1, 11, n_train, dtype=np.uint8), "test": rng.integers(1, 11, n_test, dtype=np.uint8)}
    for split, x in arrays.items():
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(x.transpose(0, 1, 3, 2)).tobytes())
    for split, y in labels.items():
        (folder / f"{split}_y.bin").write_bytes(y.tobytes())
    (folder / "class_names.txt").write_text("\n".join(f"class{i}" for i in range(10)))
    return {**{f"x_{k}": v for k, v in arrays.items()}, **{f"y_{k}": v.astype(np.int64) - 1 for k, v in labels.items()}}


def test_stl10_reads_the_binary_layout_as_torchvision_does(tmp_path):
    from torchvision.datasets import STL10

    written = write_stl10(tmp_path)
    data = load_ddpm_data({"dataset": "stl10", "data_dir": str(tmp_path), "image_size": 96}, tmp_path).images
    x_pool = np.concatenate([written["x_train"], written["x_unlabeled"]])
    y_pool = np.concatenate([written["y_train"], np.full(30, -1)])
    n_val = round(50 / 6)  # the last sixth of labelled + unlabelled training images
    assert np.array_equal(data.x_train, x_pool[:-n_val]) and np.array_equal(data.x_val, x_pool[-n_val:])
    assert np.array_equal(data.y_train, y_pool[:-n_val]) and (data.y_val == -1).all()
    assert np.array_equal(data.x_test, written["x_test"]) and np.array_equal(data.y_test, written["y_test"])
    assert data.num_classes == 10 and data.x_train[0, 0, 0, 50] == 250 and data.x_train[0, 0, 50, 0] == 5
    reference = STL10.__new__(STL10)  # torchvision's own reader, without its md5 check of the real files
    reference.root, reference.base_folder = str(tmp_path), "stl10_binary"
    x_ref, y_ref = reference._STL10__loadfile("test_X.bin", "test_y.bin")
    assert np.array_equal(data.x_test, x_ref) and np.array_equal(data.y_test, y_ref.astype(np.int64))


def test_stl10_resized_once_and_cached(tmp_path, monkeypatch):
    write_stl10(tmp_path / "data")
    fixed = {"dataset": "stl10", "data_dir": str(tmp_path / "data"), "image_size": 48, "fid_features": "none"}
    d = load_ddpm_data(fixed, tmp_path).images
    assert d.x_train.shape == (50 - 8, 3, 48, 48) and d.x_test.shape == (12, 3, 48, 48)
    assert d.x_train[0, 0, 0, 24] > 240 and d.x_train[0, 0, 24, 0] < 20  # the orientation marks survive
    cached = list((tmp_path / CACHE_FOLDER).glob("stl10-48px-*.npz"))
    assert len(cached) == 1 and not list((tmp_path / CACHE_FOLDER).glob("*.tmp"))
    from trainables.data import ddpm_data

    monkeypatch.setattr(ddpm_data, "load_stl10_arrays", lambda folder: pytest.fail("decoded again"))
    again = load_ddpm_data(fixed, tmp_path).images
    assert np.array_equal(again.x_train, d.x_train) and again.digest() == d.digest()


def test_stl10_without_unlabelled_file_trains_on_the_labelled(tmp_path):
    write_stl10(tmp_path)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    d = load_ddpm_data({"dataset": "stl10", "data_dir": str(tmp_path / "stl10_binary"), "image_size": 96}, tmp_path).images
    assert d.split_sizes() == {"train": 17, "val": 3, "test": 12} and (d.y_train >= 0).all()


def test_stl10_bad_files_are_named(tmp_path):
    write_stl10(tmp_path)
    x = tmp_path / "stl10_binary" / "test_X.bin"
    x.write_bytes(x.read_bytes()[:-100])
    with pytest.raises(DataUnavailable, match="test_X.bin.*truncated"):
        load_ddpm_data({"dataset": "stl10", "data_dir": str(tmp_path), "image_size": 96}, tmp_path)
    (tmp_path / "stl10_binary" / "train_y.bin").unlink()
    with pytest.raises(DataUnavailable, match="missing train_y.bin.*fix:"):
        load_ddpm_data({"dataset": "stl10", "data_dir": str(tmp_path), "image_size": 96}, tmp_path)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    folder = write_shapes_folder(tmp_path_factory.mktemp("shapes") / "tree", n=60)
    from PIL import Image

    nested = folder / "disc" / "more" / "deeper"  # a deeper subfolder still belongs to its first-level class
    nested.mkdir(parents=True)
    Image.new("RGB", (120, 30), (10, 200, 30)).save(nested / "wide.PNG")
    Image.new("L", (33, 77), 128).save(nested / "grey.jpeg")
    return folder


def test_image_folder_of_mixed_jpeg_and_png(shapes, tmp_path):
    sizes = {_pixel_size(p) for p in shapes.rglob("*.*")}
    assert len(sizes) > 20 and {p.suffix.lower() for p in shapes.rglob("*.*")} == {".png", ".jpg", ".jpeg"}
    data = load_ddpm_data({"dataset": "image_folder", "data_dir": str(shapes), "image_size": 32}, tmp_path)
    d = data.images
    assert d.split_sizes() == {"train": 43, "val": 9, "test": 10}  # 62 images: test 62/6 -> 10, val 52/6 -> 9
    assert d.x_train.shape[1:] == (3, 32, 32) and d.x_train.dtype == np.uint8
    assert d.num_classes == len(CLASSES) and set(np.concatenate([d.y_train, d.y_val, d.y_test])) == {0, 1, 2, 3}
    assert data.fid_features == "classifier"
    again = load_ddpm_data({"dataset": "image_folder", "data_dir": str(shapes), "image_size": 32}, tmp_path)
    assert again.digest() == data.digest()  # the same order, splits and pixels every time


def _pixel_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.size


def test_image_folder_cache_is_written_once_and_atomically(shapes, tmp_path, monkeypatch):
    fixed = {"dataset": "image_folder", "data_dir": str(shapes), "image_size": 48}
    first = load_ddpm_data(fixed, tmp_path)
    files = list((tmp_path / CACHE_FOLDER).iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz" and "48px" in files[0].name
    monkeypatch.setattr(folder_module, "_decode", lambda *a: pytest.fail("decoded again"))
    assert load_ddpm_data(fixed, tmp_path).digest() == first.digest()


def test_an_interrupted_cache_write_leaves_nothing(shapes, tmp_path, monkeypatch):
    def broken_savez(f, **arrays):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(DataUnavailable, match="cannot write the resized-image cache.*fix:"):
        load_ddpm_data({"dataset": "image_folder", "data_dir": str(shapes), "image_size": 64}, tmp_path)
    assert list((tmp_path / CACHE_FOLDER).iterdir()) == []


def test_resize_then_centre_crop():
    from PIL import Image

    wide = np.zeros((50, 150, 3), np.uint8)
    wide[:, :50, 0], wide[:, 50:100, 1], wide[:, 100:, 2] = 255, 255, 255  # red | green | blue thirds
    out = resize_center_crop(Image.fromarray(wide), 32)  # -> 96 x 32, then the middle 32 columns
    assert out.shape == (3, 32, 32)
    assert out[1].mean() > 240 and out[0].mean() < 15 and out[2].mean() < 15
    small = resize_center_crop(Image.fromarray(wide[:10, :20]), 32)  # upsampled too
    assert small.shape == (3, 32, 32)


def test_unlabelled_folder_needs_another_feature_space(tmp_path):
    flat = tmp_path / "flat"
    for i, path in enumerate(sorted(write_shapes_folder(tmp_path / "src", n=12).rglob("*.*"))):
        flat.mkdir(exist_ok=True)
        path.rename(flat / f"{i}{path.suffix}")
    with pytest.raises(DataUnavailable, match="no class labels.*fix: --set fid_features=inception.*ddpm_loss_sweep"):
        load_ddpm_data({"dataset": "image_folder", "data_dir": str(flat), "image_size": 32}, tmp_path)
    with pytest.raises(DataUnavailable, match="Inception-v3 weights.*fix:"):
        load_ddpm_data({"dataset": "image_folder", "data_dir": str(flat), "image_size": 32, "fid_features": "inception"},
                       tmp_path)
    d = load_ddpm_data({"dataset": "image_folder", "data_dir": str(flat), "image_size": 32, "fid_features": "none"},
                       tmp_path).images
    assert d.num_classes == 0 and (d.y_train == -1).all() and d.split_sizes() == {"train": 8, "val": 2, "test": 2}


@pytest.mark.parametrize("case,match", [
    ("missing", "is not an existing folder.*fix:"),
    ("empty", "holds no images.*fix:"),
    ("unreadable", "2 of 14 files .* cannot be read as images .*fix: remove or re-save them"),
    ("too_few", "at least 3 images.*fix:"),
    ("no_data_dir", "needs data_dir; fix: --set data_dir="),
])
def test_bad_folders_raise_one_line_naming_the_fix(tmp_path, case, match):
    folder = tmp_path / "images"
    if case != "missing":
        folder.mkdir()
    if case == "unreadable":
        write_shapes_folder(folder, n=12)
        (folder / "disc" / "broken.jpg").write_bytes(b"not a jpeg")
        (folder / "square" / "empty.png").write_bytes(b"")
    if case == "too_few":
        write_shapes_folder(folder, n=2)
    with pytest.raises(DataUnavailable, match=match) as info:
        load_ddpm_data({"dataset": "image_folder", "data_dir": None if case == "no_data_dir" else str(folder),
                        "image_size": 32, "fid_features": "none"}, tmp_path)
    assert "\n" not in str(info.value)


def test_mnist_padded_to_32(mnist_root):
    from trainables.data import load_dataset

    d = load_ddpm_data({"dataset": "mnist"}, mnist_root).images
    plain = load_dataset("mnist", mnist_root)
    assert d.split_sizes() == {"train": 50_000, "val": 10_000, "test": 10_000}
    assert d.x_train.shape == (50_000, 1, 32, 32)
    assert np.array_equal(d.x_val[:, :, 2:30, 2:30], plain.x_val) and np.array_equal(d.y_test, plain.y_test)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert d.x_test[:, 0, border].max() == 0
