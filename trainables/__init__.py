"""Trainables: models, losses, data and one training loop per model family.

Nothing here imports Ray: a training loop is ``fit(cfg, report, ...)`` and the caller decides
what ``report`` does (Ray Tune's report in ``study/``, ``list.append`` in tests).
"""
