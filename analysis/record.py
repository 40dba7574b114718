"""The study record as the analysis reads it: :mod:`record.study_record`, with each family's config
types and report unit taken from the trainables registry."""

from __future__ import annotations

from record.errors import RecordError
from record.study_record import StudyRecord, Trial, check_uri, typed_params
from record.study_record import load as _load

__all__ = ["RecordError", "StudyRecord", "Trial", "best_nll_text", "check_uri", "column_header", "distance", "label", "load",
           "nelbo_caption", "typed_config"]


def _config_type(family: str) -> type | None:
    from trainables.families import FAMILIES

    return FAMILIES[family].config_cls if family in FAMILIES else None


def _unit(family: str) -> str:
    from trainables.families import FAMILIES

    return FAMILIES[family].unit if family in FAMILIES else "report"


def typed_config(params: dict, family: str) -> dict:
    """MLflow's string params -> values of ``family``'s config types (``"None"`` -> None, ``"True"`` -> True)."""
    import typing

    cls = _config_type(family)
    return typed_params(params, typing.get_type_hints(cls) if cls is not None else {})


def _family_of_keys(keys: set) -> str | None:
    """The one family whose config has every key in ``keys`` (None when none or several have)."""
    from trainables.families import FAMILIES

    fits = [name for name, f in FAMILIES.items() if keys <= set(f.config_cls.keys())]
    return fits[0] if len(fits) == 1 else None


def load(study: str, uri: str, parent_run_id: str | None = None) -> StudyRecord:
    """Read one invocation of ``study`` (default: the newest) from ``uri``; raises RecordError with the fix."""
    return _load(study, uri, parent_run_id, config_types=_config_type, units=_unit, family_of_keys=_family_of_keys)


def _best_config(record: StudyRecord) -> dict:
    """The study's fixed values with the best trial's config over them (MLflow params, as strings or typed)."""
    best = record.best_trial
    return {**record.fixed, **(best.config if best is not None else {})}


def nelbo_caption(record: StudyRecord) -> str:
    """`` Every *_nelbo here is a Bernoulli cross-entropy bound on grey-level pixels, not a likelihood (...).``
    for a record whose VAEs trained on grey levels (``trainables.vae_nll.GREY_NELBO_NOTE``), else ''. Every
    caption, table and page that shows a ``*_nelbo`` appends it."""
    from trainables.metric_names import VAL_NELBO
    from trainables.vae_nll import nelbo_note

    note = nelbo_note(VAL_NELBO, _best_config(record))  # None for a config without a Bernoulli decoder
    return f" Every *_nelbo here is {note}." if note else ""


def best_nll_text(record: StudyRecord) -> str | None:
    """The best trial's ``test_nll_iw ± SE (k=...)`` beside the IWAE paper's Table 1 VAE row, when it has one."""
    from trainables.vae_nll import nll_text

    best = record.best_trial
    return None if best is None else nll_text(best.metrics, _best_config(record))


def distance(record: StudyRecord, metric: str) -> str | None:
    """``FD (MNIST-classifier features, 128-d)`` for a sample-quality distance (:mod:`trainables.metric_labels`);
    None for any other metric."""
    from trainables.metric_labels import distance_label

    return distance_label(metric, _best_config(record))


def label(record: StudyRecord, metric: str) -> str:
    """``metric`` as a figure's axis or legend shows it: a sample-quality distance with its feature space
    (``val_fid: FD (MNIST-classifier features, 128-d)``, :mod:`trainables.metric_labels`), else its name."""
    from trainables.metric_labels import metric_label

    return metric_label(metric, _best_config(record))


def column_header(record: StudyRecord, column: str) -> str:
    """A table column's header: one holding a distance (``val_fid_best``) with its feature space, else its name."""
    from trainables.metric_labels import column_label

    return column_label(column, _best_config(record))
