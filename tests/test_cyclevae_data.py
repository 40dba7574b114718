"""Paired batches, probe tasks, and the Sprites loader on generated files in the distributed format."""

import numpy as np
import pytest
import torch

from record.errors import UsageError
from study.resolve import resolve
from study.driver import _load_data
from tests.sprites_files import write_character, write_sprites
from trainables.data.arrays import DataUnavailable, ImageData
from trainables.data.paired import PairedData, PairSampler, epoch_batches
from trainables.data.sprites import load_sprites

SPLITS = {"train": [1, 2, 5, 6], "val": [3], "test": [4, 7]}  # 1-based character numbers, as in the split file


def _data(n=600, classes=6, labels_shared=True) -> PairedData:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    y = rng.integers(0, classes, n).astype(np.int64)
    images = ImageData("toy", x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:], classes)
    return PairedData(images, labels_shared)


@pytest.mark.parametrize("reverse_pairs", ["random", "different"])
def test_forward_pairs_share_labels_and_cover_the_epoch(reverse_pairs):
    d = _data()
    y = torch.from_numpy(d.split("train")[1])
    f1, f2, r1, r2 = epoch_batches(len(y), 64, PairSampler(y), reverse_pairs, torch.Generator().manual_seed(3))
    assert f1.shape == f2.shape == r1.shape == r2.shape == (6, 64)  # 400 // 64 full batches, the rest dropped
    assert torch.equal(y[f1], y[f2])
    assert len(set(f1.flatten().tolist())) == 384  # a permutation: no image twice in one epoch
    assert not torch.equal(f1, f2)
    if reverse_pairs == "different":
        assert (y[r1] != y[r2]).all()
    else:
        assert 0 < (y[r1] == y[r2]).float().mean() < 0.5  # independent draws: about 1/6 share a label


def test_epoch_batches_are_a_function_of_the_seed():
    y = torch.from_numpy(_data().split("train")[1])

    def draw(seed):
        return epoch_batches(len(y), 32, PairSampler(y), "random", torch.Generator().manual_seed(seed))

    assert all(torch.equal(a, b) for a, b in zip(draw(1), draw(1)))
    assert not torch.equal(draw(1)[0], draw(2)[0])


def test_same_label_partner_is_uniform_over_the_class():
    y = torch.tensor([0, 0, 0, 1, 1])
    picks = PairSampler(y).same(torch.zeros(3000, dtype=torch.long), torch.Generator().manual_seed(0))
    counts = torch.bincount(picks, minlength=5)
    assert counts[3:].sum() == 0 and (counts[:3] > 850).all()


def test_split_container():
    d = _data()
    assert d.split_sizes() == {"train": 400, "val": 100, "test": 100}
    assert d.image_shape == (1, 4, 4)
    assert d.subset(100).split_sizes() == {"train": 100, "val": 100, "test": 100}
    i = d.images
    other = PairedData(ImageData("toy", i.x_train, i.y_train, i.x_val, i.y_val, i.x_test, np.roll(i.y_test, 1), 6))
    assert d.digest() == i.digest() != other.digest()
    x, y = d.split("val")
    assert x is i.x_val and y is i.y_val


def test_probe_tasks_with_shared_labels_fit_on_training_images():
    tasks = _data().probe_tasks(n_fit=50, n_eval=30, seed=0)
    fit = tasks["train"].fit
    assert fit[0] == "train" and len(fit[1]) == 50 and tasks["train"].score is fit
    for split in ("val", "test"):
        assert tasks[split].fit is fit
        assert tasks[split].score[0] == split and np.array_equal(tasks[split].score[1], np.arange(30))


def test_probe_tasks_with_disjoint_labels_split_each_split_in_halves():
    d = _data(labels_shared=False)
    tasks = d.probe_tasks(n_fit=10_000, n_eval=None, seed=0)
    for split in ("val", "test"):
        (fs, fit), (ss, score) = tasks[split].fit, tasks[split].score
        assert fs == ss == split and not set(fit) & set(score)
        assert len(fit) + len(score) == d.split_sizes()[split]
        y = d.split(split)[1]
        assert set(y[fit]) == set(y)  # every label is in the fitted half
    assert tasks["train"].score is tasks["train"].fit


@pytest.fixture(scope="module")
def sprites_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sprites_root")
    images = write_sprites(root / "sprites", SPLITS, n_anims=3, frames=4)
    return root, images


def test_sprites_loader_reads_shapes_range_and_split(sprites_root):
    root, images = sprites_root
    d = load_sprites(root)
    assert d.name == "sprites" and not d.labels_shared
    assert d.split_sizes() == {"train": 4 * 12, "val": 12, "test": 2 * 12}  # 3 animations x 4 frames each
    for split, numbers in SPLITS.items():
        x, y = d.split(split)
        assert x.dtype == np.uint8 and x.shape[1:] == (3, 60, 60)
        assert sorted(set(y.tolist())) == sorted(n - 1 for n in numbers)  # label: character number - 1
        for number in numbers:
            np.testing.assert_array_equal(x[y == number - 1], images[number])  # orientation, order, values
    x = d.split("train")[0]
    assert x.min() == 0 and x.max() == 255
    assert (x[:, :, :10, :] == 255).all()  # the generated bright band is on the top rows, not the left


def test_sprites_loader_accepts_the_tarball_folder(tmp_path):
    write_sprites(tmp_path / "data" / "sprites", {"train": [1], "val": [2], "test": [3]}, n_anims=1, frames=2)
    assert load_sprites(tmp_path).split_sizes() == {"train": 2, "val": 2, "test": 2}


def test_missing_split_file_names_it_and_the_layout(tmp_path):
    with pytest.raises(DataUnavailable, match=r"sprites_splits\.mat is missing; fix: .*sprites_K\.mat") as e:
        load_sprites(tmp_path)
    assert "\n" not in str(e.value)


def test_missing_character_file_names_it(tmp_path):
    write_sprites(tmp_path / "sprites", {"train": [1], "val": [2], "test": [3]}, n_anims=1, frames=2)
    (tmp_path / "sprites" / "sprites_1.mat").unlink()
    with pytest.raises(DataUnavailable, match=r"sprites_1\.mat is missing"):
        load_sprites(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "wrong_shape", "no_cell"])
def test_corrupt_character_file_names_it(tmp_path, damage):
    folder = tmp_path / "sprites"
    images = write_sprites(folder, {"train": [1], "val": [2], "test": [3]}, n_anims=1, frames=2)
    path = folder / "sprites_2.mat"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:2000])
    elif damage == "wrong_shape":
        write_character(path, [images[3][:, :, :30, :]])  # 60x30 images
    else:
        import h5py

        with h5py.File(path, "a") as f:
            del f["sprites"]
    with pytest.raises(DataUnavailable, match=r"sprites_2\.mat") as e:
        load_sprites(tmp_path)
    assert "\n" not in str(e.value)


def test_corrupt_split_file_names_it(tmp_path):
    write_sprites(tmp_path / "sprites", {"train": [1], "val": [2], "test": [3]}, n_anims=1, frames=2)
    (tmp_path / "sprites" / "sprites_splits.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataUnavailable, match=r"cannot read Sprites split file .*sprites_splits\.mat"):
        load_sprites(tmp_path)


def test_missing_sprites_file_is_the_studys_one_line_usage_error(tmp_path):
    """What ``study.run`` loads before any trial: a missing character file is a UsageError (exit 2) naming it."""
    write_sprites(tmp_path / "sprites", {"train": [1], "val": [2], "test": [3]}, n_anims=1, frames=2)
    (tmp_path / "sprites" / "sprites_2.mat").unlink()
    with pytest.raises(UsageError) as e:
        _load_data(resolve("cyclevae_sprites_sweep", "smoke"), tmp_path)
    message = str(e.value)
    assert "\n" not in message and "sprites_2.mat is missing" in message and "ROOT/sprites" in message
