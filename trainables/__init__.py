"""Trainables: models, losses, data and one training loop per model family.

Nothing here imports Ray or MLflow: a family (:mod:`trainables.families`) is fitted as
``FAMILIES[name].fit(cfg, report, data, ...)`` and the caller decides what ``report`` does (Ray Tune's
report in ``study/``, ``list.append`` in tests).
"""
