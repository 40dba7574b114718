"""One contract over every registered family (``trainables.families.FAMILIES``), as diffusers runs one scheduler
contract over every scheduler: a family gets these tests by being registered, with a small case in ``CASES``.

What every family promises the study runner: ``fit`` reports ``n_reports(cfg)`` times with the metric of each of
its studies and that metric's test counterpart; every report writes its checkpoint, and ``restore_model`` on it
gives the outputs of the model that was trained; a fit stopped after a report and resumed from that report's
checkpoint reports what an uninterrupted fit reports; the ``n_params`` it reports is the built model's; the family
has its analysis figures; and the test split never steers it: the same fit with every test split replaced by
noise (and the family's ``prepare`` run on that data, as the study driver runs it) keeps every validation and
training number, every checkpoint's weights and the checkpoint each study keeps, while the test numbers change.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import trainables.family
from analysis.families import ANALYSES
from search_spaces import STUDIES
from tests.conftest import one_torch_thread
from trainables import metric_names as M
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE, STATE_FILE
from trainables.data import ImageData, SplitData, load_dataset
from trainables.data.cyclevae_data import load_cyclevae_data
from trainables.data.ddpm_data import load_ddpm_data
from trainables.data.domains import DomainData, Labelled
from trainables.data.moons import load_moons
from trainables.data.shapes_folder import write_shapes_folder
from trainables.data.small import make_shapes
from trainables.families import FAMILIES, restore_model
from trainables.images import uint8_to_float
from trainables.reporting import FOLDER, Reporter

TIMING = (M.SAMPLES_PER_S, M.DDIM_SAMPLES_PER_S)  # wall-clock rates: the only numbers two runs may differ in
PREPARE_STEPS = 20  # the FID classifier's and the train-on-target reference's steps here (the plumbing is tested)


@dataclass(frozen=True)
class Case:
    """A family's small run: its config keys, its data (from the family's own loader where that is cheap), its
    model's outputs on a fixed input (what ``restore_model`` must reproduce) and the report after which the resume
    test stops the fit (inside an epoch, where a family reports several times an epoch)."""

    config: dict[str, Any]
    data: Callable[[Path], SplitData]
    outputs: Callable[[nn.Module, Any, SplitData], Any]
    stop_after: int


def _shape_domains(root: Path) -> DomainData:
    """Generated shapes (4 classes): grey 28 px source images and inverted tinted copies as the target. 32 steps
    at lr 0.1 leave the network's predictions depending on its input (at lr 0.01, or on random images, it
    predicted one class whatever it was shown, test noise included: measured)."""
    sizes = {"source_train": 256, "source_val": 64, "source_test": 64, "target_train": 256, "target_val": 64,
             "target_test": 64}
    splits = {}
    for seed, (split, n) in enumerate(sizes.items()):
        x, y = make_shapes(n, seed=seed)  # (n, 1, 28, 28) uint8
        if split.startswith("target"):
            x = 255 - np.repeat(x, 3, axis=1) // np.array([1, 2, 3], dtype=np.uint8)[None, :, None, None]
        splits[split] = Labelled(x, y)
    return DomainData("shapes", splits, 10)


def _shapes_folder(root: Path):
    folder = write_shapes_folder(root / "shapes", n=48)
    return load_ddpm_data({"dataset": "image_folder", "data_dir": str(folder), "image_size": 32}, root)


def _images(data) -> torch.Tensor:
    """Four validation images in [0, 1]."""
    return uint8_to_float(torch.from_numpy(np.array(data.x_val[:4])))


def _gan_outputs(m, cfg, data):
    fake = m.generator(torch.randn(4, cfg.latent_dim, generator=torch.Generator().manual_seed(0)))
    return fake, m.discriminator(fake), m.discriminator(_images(data) * 2 - 1)


def _cyclevae_outputs(m, cfg, data):
    mu, logvar, s = m.encode(_images(data.images))
    return mu, logvar, s, m.decode(mu, s)


def _ddpm_outputs(m, cfg, data):
    x = torch.randn(2, *cfg.image_shape, generator=torch.Generator().manual_seed(0))
    return m(x, torch.tensor([0, cfg.timesteps - 1]))


CASES: dict[str, Case] = {  # one per registered family: test_every_registered_family_has_a_case
    "vae": Case(dict(dataset="synthetic", arch="conv", depth=1, width=8, latent_dim=4, max_epochs=4, batch_size=64,
                     train_size=256, dropout=0.2, batchnorm=True, beta_schedule="linear", warmup_epochs=3,
                     image_every=2),  # dropout, batch norm and a warm-up: what a resume must continue
                lambda root: load_dataset("synthetic", root),
                lambda m, cfg, data: (*m.encode(_images(data)), m.decode(m.encode(_images(data))[0])), stop_after=2),
    "gan": Case(dict(dataset="digits", depth=2, width=8, latent_dim=8, batch_size=32, train_size=256, max_epochs=2,
                     reports_per_epoch=2, eval_samples=64, g_ema=0.9, instance_noise=0.1, label_smoothing=0.1),
                lambda root: load_dataset("digits", root), _gan_outputs, stop_after=1),  # 8 px: a cheap classifier
    "dann_moons": Case(dict(max_epochs=6, reports=3, hidden=5), lambda root: load_moons({}, root),
                       lambda m, cfg, data: m(torch.from_numpy(data["target_val"].x[:8])), stop_after=1),
    "dann": Case(dict(batch_size=32, lr=0.1, max_epochs=2, reports_per_epoch=2, seed=5), _shape_domains,
                 lambda m, cfg, data: m(uint8_to_float(torch.from_numpy(data["target_val"].x[:4]))), stop_after=1),
    "cyclevae": Case(dict(dataset="synthetic", z_dim=4, s_dim=4, width=4, batch_size=32, lr=1e-3, train_size=256,
                          probe_train_size=200, probe_epochs=3, eval_size=100, max_epochs=3, image_every=2),
                     lambda root: load_cyclevae_data({"dataset": "synthetic"}, root), _cyclevae_outputs, stop_after=1),
    "ddpm": Case(dict(dataset="image_folder", image_size=32, base_channels=8, channel_mult="1,2", num_res_blocks=1,
                      attention_resolutions="16", batch_size=8, warmup_steps=5, eval_samples=16, ddim_steps=4,
                      loss_eval_images=6, ema_decay=0.9, lr=1e-3, max_epochs=2, reports_per_epoch=2,
                      dropout=0.1, hflip=True),
                 _shapes_folder, _ddpm_outputs, stop_after=1),
}


def test_every_registered_family_has_a_case():
    """A family registered without a small case here would run the contract at its full defaults (hours)."""
    assert set(CASES) == set(FAMILIES), "add a Case for each new family; drop the cases of removed ones"


def noisy_test(data: SplitData) -> SplitData:
    """``data`` with the inputs of every test split replaced by noise of the same shape and dtype (labels kept)."""
    rng = np.random.default_rng(1)

    def noise(x: np.ndarray) -> np.ndarray:
        if x.dtype == np.uint8:
            return rng.integers(0, 256, x.shape, dtype=np.uint8)
        return rng.standard_normal(x.shape).astype(x.dtype)

    if isinstance(data, ImageData):
        return dataclasses.replace(data, x_test=noise(data.x_test))
    if isinstance(data, DomainData):
        return dataclasses.replace(data, splits={k: Labelled(noise(v.x), v.y) if k.endswith("_test") else v
                                                 for k, v in data.splits.items()})
    if dataclasses.is_dataclass(data) and isinstance(getattr(data, "images", None), ImageData):
        return dataclasses.replace(data, images=noisy_test(data.images))
    raise TypeError(f"noisy_test does not know {type(data).__name__}: teach it where that container's test split is")


@pytest.fixture(scope="module", autouse=True)
def small_and_single_threaded():
    """torch on one thread (the class-scoped fits below run before any function-scoped fixture), and short
    training for what ``Family.prepare`` trains (the FID classifier, the train-on-target reference)."""
    import trainables.classifier
    import trainables.dann_reference

    with one_torch_thread(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(trainables.classifier, "MIN_STEPS", PREPARE_STEPS)
        mp.setattr(trainables.dann_reference, "MIN_STEPS", PREPARE_STEPS)
        yield


class Stop(Exception):
    """Raised by a report callback: the fit is interrupted there, its checkpoint already written."""


@dataclass
class Run:
    reports: list[tuple[dict, str]]  # (metrics, checkpoint folder) per report
    models: list[nn.Module]  # a copy of the model each report kept, in eval mode
    workdir: Path


def fit(name: str, cfg, data, assets, workdir: Path, resume_from: str | None = None, stop_after: int | None = None) -> Run:
    """``FAMILIES[name].fit`` into ``workdir``, copying the model handed to each report's checkpoint writer."""
    run = Run([], [], workdir)

    class Recording(Reporter):
        def __call__(self, k, metrics, model, *args, **kwargs):
            run.models.append(copy.deepcopy(model).eval())
            super().__call__(k, metrics, model, *args, **kwargs)

    def report(metrics: dict, checkpoint: str) -> None:
        run.reports.append((metrics, checkpoint))
        if len(run.reports) == stop_after:
            raise Stop

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trainables.family, "Reporter", Recording)
        try:
            FAMILIES[name].fit(cfg, report, data, resume_from=resume_from, workdir=str(workdir), assets=assets)
        except Stop:
            pass
    return run


@dataclass
class Setup:
    name: str
    cfg: Any
    data: SplitData
    assets: dict | None
    root: Path


def _setup(name: str, data: SplitData, root: Path) -> Setup:
    family = FAMILIES[name]
    assets = family.prepare(data, root) if family.prepare else None  # as the study driver does, before any trial
    return Setup(name, family.make_config(CASES[name].config), data, assets, root)


@pytest.fixture(scope="class")
def clean(name, tmp_path_factory) -> Setup:
    root = tmp_path_factory.mktemp(f"{name}-clean")
    return _setup(name, CASES[name].data(root), root)


@pytest.fixture(scope="class")
def whole(clean) -> Run:
    return fit(clean.name, clean.cfg, clean.data, clean.assets, clean.root / "whole")


@pytest.fixture(scope="class")
def resumed(clean, whole) -> tuple[int, Run]:
    """A fit stopped after report k (the case's ``stop_after``) and a fit resumed from that report's checkpoint."""
    k = CASES[clean.name].stop_after
    assert 1 <= k < len(whole.reports)
    first = fit(clean.name, clean.cfg, clean.data, clean.assets, clean.root / "first", stop_after=k)
    assert len(first.reports) == k
    return k, fit(clean.name, clean.cfg, clean.data, clean.assets, clean.root / "resumed",
                  resume_from=first.reports[-1][1])


@pytest.fixture(scope="class")
def noisy(clean, tmp_path_factory) -> Run:
    """The same fit on the data with its test splits replaced by noise, prepared from scratch on that data."""
    root = tmp_path_factory.mktemp(f"{clean.name}-noisy")
    data = noisy_test(clean.data)
    assert data.digest() != clean.data.digest()
    setup = _setup(clean.name, data, root)
    return fit(clean.name, setup.cfg, data, setup.assets, root / "whole")


def _studies(name: str):
    studies = [s for s in STUDIES.values() if s.family == name]
    assert studies, f"no study runs family {name!r}"
    return studies


def _weights(folder: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(Path(folder) / MODEL_FILE))


def _same_tensors(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    return len(a) == len(b) and all(_same_tensors(x, y) for x, y in zip(a, b))


def _without(metrics: dict, keys) -> dict:
    return {k: v for k, v in metrics.items() if k not in keys}


@pytest.mark.parametrize("name", list(FAMILIES), scope="class")
class TestFamilyContract:
    def test_fit_reports_n_reports_times_with_each_studys_metric_and_its_test_counterpart(self, name, clean, whole):
        n = FAMILIES[name].n_reports(clean.cfg)
        assert len(whole.reports) == n
        for study in _studies(name):
            for metrics, _ in whole.reports:
                for key in (study.metric, study.test_metric):
                    assert key in metrics and np.isfinite(metrics[key]), (study.name, key)

    def test_every_report_writes_its_checkpoint(self, name, whole):
        for k, (metrics, folder) in enumerate(whole.reports, 1):
            assert Path(folder) == whole.workdir / FOLDER.format(k)
            assert {MODEL_FILE, CONFIG_FILE, STATE_FILE} <= {p.name for p in Path(folder).iterdir()}
            meta = json.loads((Path(folder) / CONFIG_FILE).read_text())
            assert (meta["family"], meta["unit"], meta["report"]) == (name, FAMILIES[name].unit, k)
            assert meta["metrics"] == metrics

    def test_restored_model_gives_the_trained_models_outputs(self, name, clean, whole):
        outputs = CASES[name].outputs
        for (_, folder), trained in zip(whole.reports, whole.models):
            model, cfg = restore_model(folder)
            assert cfg == clean.cfg and not model.training
            with torch.no_grad():
                assert _same_tensors(outputs(model, cfg, clean.data), outputs(trained, cfg, clean.data)), folder

    def test_resumed_fit_reports_what_an_uninterrupted_fit_reports(self, name, whole, resumed):
        k, run = resumed
        assert len(run.reports) == len(whole.reports) - k
        for (a, folder_a), (b, folder_b) in zip(whole.reports[k:], run.reports):
            assert Path(folder_a).name == Path(folder_b).name
            assert _without(a, TIMING) == _without(b, TIMING)
            assert _same_tensors(list(_weights(folder_a).values()), list(_weights(folder_b).values()))

    def test_reported_n_params_is_the_built_models(self, name, clean, whole):
        family = FAMILIES[name]
        built = sum(p.numel() for p in family.build(clean.cfg).parameters())
        assert family.n_params(clean.cfg) == built
        assert {m[M.N_PARAMS] for m, _ in whole.reports} == {built}

    def test_family_has_its_figures(self, name, whole):
        analysis = ANALYSES[name]  # a family missing here gets only the study-level sections
        assert callable(analysis.sections)
        for title, keys in analysis.compare_panels:  # every curve a comparison panel draws is a metric the family reports
            for key in filter(None, keys):
                assert all(key in m for m, _ in whole.reports), (title, key)

    def test_the_test_split_never_steers(self, name, clean, whole, noisy):
        assert [Path(f).name for _, f in whole.reports] == [Path(f).name for _, f in noisy.reports]
        for (a, folder_a), (b, folder_b) in zip(whole.reports, noisy.reports):
            assert a.keys() == b.keys()
            for key in a:
                if M.split_of(key) in ("train", "val"):
                    assert a[key] == b[key], (key, a[key], b[key])
            assert _same_tensors(list(_weights(folder_a).values()), list(_weights(folder_b).values()))
        for study in _studies(name):
            pick = np.argmin if study.mode == "min" else np.argmax
            kept = [int(pick([m[study.metric] for m, _ in run.reports])) for run in (whole, noisy)]
            assert kept[0] == kept[1], study.name
            assert any(a[study.test_metric] != b[study.test_metric]
                       for (a, _), (b, _) in zip(whole.reports, noisy.reports)), (study.name, "test numbers unchanged")
