"""Running studies: the CLI, the Tuner (Optuna TPE + ASHA), Ray and MLflow wiring."""
