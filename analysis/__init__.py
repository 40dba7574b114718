"""Analysis of finished studies from the MLflow record: best configs, tables, figures, report.

``python -m analysis.export STUDY`` (:mod:`analysis.export`) reads one invocation of a study
(:mod:`analysis.record`), writes ``leaderboard.csv`` (:mod:`analysis.leaderboard`) and
``best_config.yaml`` (:mod:`analysis.best_config`, read back by ``study.run --from-config``), draws the
study-level and family figures (:mod:`analysis.figures`, registered per family in :mod:`analysis.families`) and
writes ``report.html`` (:mod:`analysis.report`). Nothing is retrained: checkpoints are loaded with
:mod:`analysis.checkpoints` for inference only.
"""
