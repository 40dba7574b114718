"""genstudy: hyperparameter studies of deep generative models on Ray Tune, Optuna and MLflow.

The ``genstudy`` command (:mod:`genstudy.cli`) runs, lists and exports studies; the same commands are
``python -m study.run`` and ``python -m analysis.export``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genstudy")
except PackageNotFoundError:  # a source checkout on PYTHONPATH, not installed
    __version__ = "0+unknown"
