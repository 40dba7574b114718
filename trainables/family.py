"""What the study runner needs of a model family: :class:`Family`.

A family is a file set under ``trainables/`` (config, models, losses, data, loop) and one module under
``trainables/families/`` that builds its :class:`Family`; ``study/`` knows nothing more of it than this record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from trainables.configs import CONFIGS
from trainables.data import SplitData, load_dataset
from trainables.reporting import Report, Reporter

if TYPE_CHECKING:  # torch-free at import: a family whose trials need no torch (the benchmarks') loads none
    from torch import nn

    from trainables.export import Exports

EPOCH, REPORT = "epoch", "report"  # what one report of a family is


def load_images(fixed: Mapping[str, Any], root: Path) -> SplitData:
    """The image families' data: ``fixed["dataset"]`` through :func:`trainables.data.load_dataset`."""
    return load_dataset(fixed["dataset"], root)


@dataclass(frozen=True)
class Family:
    """What the study runner needs of a model family.

    ``load_data(fixed, data_root)`` runs once in the driver with the study's fixed config values (the
    study's, the profile's and ``--set``'s: only those may choose data) and returns the family's data
    container: any object satisfying :class:`trainables.data.SplitData`, with train, validation and
    test splits. It raises :class:`trainables.data.DataUnavailable` naming the remedy.
    ``train(cfg, reporter, data, resume_from=None, assets=None)`` is the family's loop: it trains on the
    training split only and calls its :class:`trainables.reporting.Reporter` ``cfg.n_reports`` times
    (ASHA's time unit is one report; ``unit`` says whether a report is an epoch); the metrics hold the
    study's validation metric and its test counterpart. Callers use :meth:`fit`, which gives the loop a
    reporter that writes every family's checkpoints the same way, under the family's name.
    ``prepare(data, data_root)``, when given, runs once in the driver before any trial (e.g. to train
    the FID classifier) and returns the ``assets`` every trial receives. ``build(cfg)`` constructs the
    whole model (every parameter the cap counts). ``publish(model, cfg, data)``, when given, is the
    family's one export: what its trained model is published as (:class:`trainables.export.Exports`:
    the MLflow model, ``.pt2`` programs and ``.pt`` scripts), used when a study ends and by
    ``analysis.export --models`` (which passes no data: an example batch is then made up).
    ``final_metrics(model, cfg, data)``, when given, is what the family measures once on the best trial's
    kept checkpoint (and each confirmation run's) when a study ends (too costly for every report: the VAE's
    importance-weighted NLL, :mod:`trainables.vae_nll`; the GAN's FID Inception distances,
    :func:`trainables.gan.final_metrics`); it returns ``{metric name: value}`` (names from
    :mod:`trainables.metric_names`), possibly empty, which the study logs on the best run and, as
    ``best_<name>``, on the parent run (a confirmation run's on that run, and their mean and sd over seeds on
    the parent: :mod:`study.confirm`).
    """

    name: str
    train: Callable[..., None]
    build: Callable[[Any], nn.Module]
    load_data: Callable[[Mapping[str, Any], Path], SplitData] = load_images
    unit: str = REPORT
    prepare: Callable[..., dict] | None = None
    publish: Callable[[nn.Module, Any, SplitData | None], Exports] | None = None
    final_metrics: Callable[[nn.Module, Any, SplitData], dict[str, float]] | None = None
    config: type | None = None  # a family outside the registry brings its config class (registered ones: CONFIGS)
    metric_names: tuple[str, ...] = ()  # ... and the names of the metrics it reports (registered: metric_names.py)

    @property
    def config_cls(self) -> type:
        """The family's typed config: its entry in :data:`trainables.configs.CONFIGS` (torch-free), or the one an
        outside family brings."""
        return self.config or CONFIGS[self.name]

    def make_config(self, config: dict) -> Any:
        return self.config_cls(**config)

    def n_reports(self, cfg: Any) -> int:
        """Reports a trial of ``cfg`` makes (``cfg.n_reports``: ASHA's max_t)."""
        return cfg.n_reports

    def n_params(self, cfg: Any) -> int:
        """Parameters of the model ``cfg`` describes, counted on the meta device."""
        from trainables.models.params import count_params

        return count_params(lambda: self.build(cfg))

    def fit(self, cfg: Any, report: Report, data: SplitData, resume_from: str | None = None,
            workdir: str | None = None, assets: dict | None = None) -> None:
        """Train ``cfg``, calling ``report(metrics, checkpoint_dir)`` ``cfg.n_reports`` times.

        Args:
            resume_from: a checkpoint folder of an earlier fit; training continues after its report.
            workdir: where the checkpoints are written and kept; by default a temporary folder whose
                checkpoints are deleted once reported.
            assets: what :attr:`prepare` returned, if the family has it.
        """
        with Reporter(self.name, self.unit, report, workdir) as reporter:
            self.train(cfg, reporter, data, resume_from=resume_from, assets=assets)
