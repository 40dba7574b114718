"""What a study prints: the resolved study (``--print``), the list, and the closing summary."""

from __future__ import annotations

import json
from typing import Any

from record import schema as S
from record.reader import Outcome
from search_spaces import STUDIES
from study.resolve import Resolved, describe_space
from study.user_studies import ORIGINS


def list_studies() -> str:
    rows = [(s.name, s.family, f"{s.metric} ({s.mode})",
             s.description + (f"  [from {ORIGINS[s.name]}]" if s.name in ORIGINS else "")) for s in STUDIES.values()]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d}" for a, b, c, d in rows)


def describe(r: Resolved, extra: dict[str, Any]) -> str:
    body = {
        "study": r.study.name, "description": r.study.description, "family": r.family.name,
        "metric": r.study.metric, "mode": r.study.mode, "reported_beside": r.study.test_metric,
        **({S.OBJECTIVES: [f"{o.name} ({o.mode})" for o in r.objectives]} if r.objectives else {}),
        "profile": r.profile_name,
        "num_samples": r.num_samples, "max_epochs": r.max_epochs, "max_concurrent": r.max_concurrent,
        "searcher": r.searcher, "scheduler": r.scheduler,
        **({"asha": {"grace_period": r.profile.grace_period, "reduction_factor": r.profile.reduction_factor}}
           if r.scheduler == "asha" else {}),
        "param_cap": r.param_cap, "fixed": r.fixed, **({"grid": r.grid} if r.grid else {}),
        "space": describe_space(r), **extra,
    }
    return json.dumps(body, indent=2, default=str)


def summary(r: Resolved, outcomes: dict[str, Outcome], rejected: list, proposed: int) -> list[str]:
    counts = {k: sum(o.status == k for o in outcomes.values()) for k in (*S.ENDED, S.KILLED)}
    killed = f", {counts[S.KILLED]} killed" if counts[S.KILLED] else ""
    lines = [f"{r.study.name} ({r.profile_name}): {proposed} configurations proposed, "
             f"{len(rejected)} over the {r.param_cap:,}-parameter cap (not trained), "
             f"{len(outcomes)} trained: {counts[S.FINISHED]} finished, {counts[S.STOPPED_EARLY]} stopped early "
             f"by ASHA, {counts[S.FAILED]} failed{killed}"]
    if rejected:
        largest = max(x.n_params for x in rejected)
        lines.append(f"  rejected before training: {len(rejected)} configurations over the cap "
                     f"(largest {largest:,} parameters > {r.param_cap:,})")
    for trial_id, o in outcomes.items():
        if o.status == S.FAILED:
            lines.append(f"  trial {trial_id} failed: {o.error}")
    return lines
