"""The scale benchmark's study (``--studies benchmarks/scale_study.py``): TPE and ASHA over the synthetic family.

    python -m study.run synthetic_scale --studies benchmarks/scale_study.py --profile smoke

The space has what TPE meets in the real studies: log-scaled and linear floats, a log-scaled integer, a
categorical. The benchmark sets the trial count, the concurrency and the reports itself.
"""

from benchmarks import synthetic
from search_spaces import Params, Profile, Study


def space(p: Params) -> dict:
    return {
        "x1": p.float("x1", 0.0, 1.0),
        "x2": p.float("x2", 0.0, 1.0),
        "x3": p.float("x3", 0.0, 1.0),
        "rate": p.float("rate", 1e-4, 1e-1, log=True),
        "width": p.int("width", 4, 64, log=True),
        "kind": p.categorical("kind", list(synthetic.KINDS)),
    }


PROFILES = {  # sleep_s: seconds each report sleeps
    "smoke": Profile(num_samples=8, max_epochs=4, grace_period=1, reduction_factor=2, max_concurrent=4,
                     use_baseline=False, fixed={"sleep_s": 0.2}),
    "quick": Profile(num_samples=100, max_epochs=4, grace_period=1, reduction_factor=2, max_concurrent=8,
                     use_baseline=False, fixed={"sleep_s": 1.0}),
    "full": Profile(num_samples=1000, max_epochs=4, grace_period=1, reduction_factor=2, max_concurrent=64,
                    use_baseline=False, fixed={"sleep_s": 1.0}),
}

STUDIES = [
    Study(
        name="synthetic_scale",
        description="Trials that only sleep: what genstudy itself costs per trial and per report",
        family=synthetic.NAME,
        metric=synthetic.VAL_SYNTHETIC,
        mode="min",
        space=space,
        profiles=PROFILES,
        run_name_keys=("kind", "width"),
    ),
]
