"""A multi-objective study's objectives as its record holds them, and the Pareto front of its trials.

``study.run STUDY --objectives val_nelbo,n_params`` records its objectives on the parent run (param
``objectives``, :data:`record.schema.OBJECTIVES`) as ``NAME:MODE[:TEST_NAME]`` joined by commas; the first is the
study metric (ASHA's, Tune's and the kept checkpoint's). The printed summary (``study.pareto``) and the export
(``analysis.pareto``, ``best_config.yaml``) compute the front here, from the same points:

* a point is a trial that *finished* (trained to the end): a trial ASHA stopped early has its values at an
  earlier budget, and Optuna was told it PRUNED, so it is never on the front;
* its values are each objective's at the report where the first objective was best (the checkpoint the trial
  keeps), and ``n_params`` is its parameter count;
* the front's points are ranked 1..K by the first objective, best first (ties by the next objectives).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from trainables.metric_names import N_PARAMS

MODES = ("min", "max")


@dataclass(frozen=True)
class Objective:
    name: str  # a validation metric, or n_params
    mode: str  # "min" or "max"
    test_name: str | None = None  # the test-split counterpart reported beside it (None for n_params)


def encode(objectives: Sequence[Objective]) -> str:
    """``val_nelbo:min:test_nelbo,n_params:min``: the parent run's ``objectives`` param."""
    return ",".join(":".join(x for x in (o.name, o.mode, o.test_name) if x) for o in objectives)


def decode(text: str | None) -> tuple[Objective, ...]:
    """The objectives of an ``objectives`` param; () for a study of one objective (no param)."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        name, mode, *test = part.split(":")
        out.append(Objective(name, mode, test[0] if test else None))
    return tuple(out)


def values_at(objectives: Sequence[Objective], report: int, at: Callable[[str, int], float | None],
              n_params: float | None) -> dict[str, float | None]:
    """Each objective's value and its test counterpart's at ``report`` (where the first objective was best);
    ``at(metric, report)`` reads a logged value, ``n_params`` is the model's size."""
    out: dict[str, float | None] = {}
    for o in objectives:
        out[o.name] = n_params if o.name == N_PARAMS else at(o.name, report)
        if o.test_name:
            out[o.test_name] = at(o.test_name, report)
    return out


def non_dominated(points: Sequence[Sequence[float]], modes: Sequence[str]) -> list[int]:
    """Indices of the points no other point dominates (at least as good in every objective, better in one),
    in their given order. ``modes[k]`` says whether objective k is minimised or maximised."""
    signs = [1.0 if m == "min" else -1.0 for m in modes]
    costs = [[s * v for s, v in zip(signs, p)] for p in points]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [i for i, c in enumerate(costs) if not any(dominates(d, c) for j, d in enumerate(costs) if j != i)]


def ranked_front(points: Sequence[Sequence[float]], modes: Sequence[str]) -> list[int]:
    """The non-dominated points' indices ranked along the front: by the first objective, best first, ties
    broken by the next objectives (index k of the result is rank k + 1)."""
    signs = [1.0 if m == "min" else -1.0 for m in modes]
    return sorted(non_dominated(points, modes), key=lambda i: [s * v for s, v in zip(signs, points[i])])
