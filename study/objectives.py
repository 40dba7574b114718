"""``--objectives METRIC,n_params``: a multi-objective study's objectives, checked against the study (no Ray,
no torch).

An objective needs a direction. genstudy knows it for ``n_params`` (min: the parameter count, known when a
configuration is proposed) and for every validation metric a registered study of the same family selects on
(that study's mode, and its test counterpart to report beside it); any other name is refused, naming those.

The first objective is what ASHA, Tune's metric and the checkpoint a trial keeps read: it must be a
validation metric, and becomes the study metric of the run. Each is refused with a :class:`UsageError` naming
the fix: fewer than two objectives, a name twice, a test-split metric, an unknown name, ``n_params`` first,
``--searcher grid`` (a grid trains every point whatever the objectives), a scheduler that cannot serve
several objectives (:data:`REFUSED_SCHEDULERS`) and ``--confirm K`` > 0 (confirmation retrains the top K
on one metric; a front has no top K: its points are retrained one by one with ``--from-config ... --rank K``).
"""

from __future__ import annotations

import difflib

from record.errors import UsageError
from record.objectives import Objective
from search_spaces import STUDIES, Study
from trainables.metric_names import N_PARAMS, is_selection_metric, split_of

# schedulers that cannot serve several objectives, and why
REFUSED_SCHEDULERS = {
    "pbt": "PBT copies a better trial's weights and perturbed configuration into a worse one mid-training, judged "
           "on one metric, so a trial's parameter count would change under it",
    "pb2": "PB2 copies a better trial's weights and new configuration into a worse one mid-training, judged on one "
           "metric, so a trial's parameter count would change under it",
}


def known(study: Study) -> dict[str, Objective]:
    """Every objective ``study`` can name: n_params and the validation metrics its family's studies select on."""
    out = {study.metric: Objective(study.metric, study.mode, study.test_metric)}  # the study's own first
    for s in STUDIES.values():
        if s.family == study.family:
            out.setdefault(s.metric, Objective(s.metric, s.mode, s.test_metric))
    out[N_PARAMS] = Objective(N_PARAMS, "min")
    return out


def parse(text: str, study: Study, searcher: str, scheduler: str, confirm: int | None) -> tuple[Objective, ...]:
    """``"val_nelbo,n_params"`` -> the objectives, in order; see the module docstring for what is refused.

    Raises:
        UsageError: one line naming the problem and the fix.
    """
    names = [n.strip() for n in text.split(",")]
    valid = known(study)
    example = f"--objectives {study.metric},{N_PARAMS}"
    if len(names) < 2 or not all(names):
        raise UsageError(f"--objectives {text!r} names fewer than two objectives; fix: e.g. {example} "
                         "(or drop --objectives for a study of one)")
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise UsageError(f"--objectives lists {twice} twice; fix: list each objective once, e.g. {example}")
    for name in names:
        if split_of(name) == "test":
            raise UsageError(f"--objectives: {name} is a test-split metric, and a study never selects on the test "
                             f"set; fix: name validation metrics (one of {', '.join(sorted(valid))}), e.g. {example}")
        if name not in valid:
            close = difflib.get_close_matches(name, list(valid), n=1)
            hint = f"did you mean {close[0]!r}? or " if close else ""
            raise UsageError(f"--objectives: unknown objective {name!r} for {study.name}; valid: "
                             f"{', '.join(sorted(valid))}; fix: {hint}name those")
    if not is_selection_metric(names[0]):
        raise UsageError(f"--objectives: the first objective is what ASHA, Tune and the kept checkpoint read, and "
                         f"{names[0]} is no validation metric; fix: put a validation metric first, e.g. {example}")
    if searcher == "grid":
        raise UsageError("--objectives with --searcher grid: a grid trains every point once whatever the objectives; "
                         "fix: drop --objectives (the export's figure shows quality against size), or pass "
                         "--searcher tpe or random")
    if scheduler in REFUSED_SCHEDULERS:
        raise UsageError(f"--objectives with --scheduler {scheduler}: {REFUSED_SCHEDULERS[scheduler]}; fix: "
                         "--scheduler asha (it reads the first objective) or fifo")
    if confirm:
        raise UsageError(f"--confirm {confirm} with --objectives: confirmation retrains the top K configurations on "
                         "one metric, and a Pareto front has no top K; fix: --confirm 0 (the default with "
                         "--objectives), then retrain a point with --from-config best_config.yaml --rank K")
    return tuple(valid[n] for n in names)
