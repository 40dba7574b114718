"""Running studies: the CLI, the Tuner (Optuna TPE + ASHA), Ray and MLflow wiring."""

import optuna as _optuna

_optuna.logging.set_verbosity(_optuna.logging.WARNING)  # the study prints its own summary
