"""Tune's actor reuse without the swap that launches a worker process for nothing.

Ray Tune (``TuneController._maybe_reuse_cached_actor``, Ray 2.60) hands a cached actor (a finished trial's, kept
for reuse) to a trial that already has an actor of its own requested, and removes that one: the request was made to
ask the cluster for resources early (ray-project/ray#36020). When the requested actor's resources were already
granted, its worker process is being launched, and removing it throws that start away: a worker that starts imports
Ray Tune, 2-3 CPU s. Where trials end faster than workers start (short trials, many at once, few cores) it does not
stop: each ending trial's actor goes to a trial still waiting for its own, the next new trial requests another, and
that one is displaced in turn. At 1,000 trials, 64 at once, on this project's 2-core machine Tune requested 429 actors
for 64 slots and removed 368 of them (BENCHMARKS.md section 6). Ray turned actor reuse off by default for the
unstable number of actors it starts (ray-project/ray#42951); genstudy keeps reuse, without the swap.

:func:`keep_launched_actors`: a cached actor goes to a trial whose own actor is not launched yet (still waiting for
resources, which the cached one holds), or that has none; a trial whose actor is launching waits for it. A waiting
request is still swapped, so a trial never waits for resources that a cached actor holds. Driver-side only.
"""

from __future__ import annotations

MARK = "_genstudy_keeps_launched_actors"


def keep_launched_actors() -> bool:
    """Patch Tune's controller once (idempotent); False where this Ray lacks the method or the actor manager's
    ``is_actor_started`` (left as it is)."""
    from ray.air.execution._internal import RayActorManager
    from ray.tune.execution.tune_controller import TuneController

    original = getattr(TuneController, "_maybe_reuse_cached_actor", None)
    if original is None or not hasattr(RayActorManager, "is_actor_started"):
        return False  # a Ray whose controller differs: its own reuse, untouched
    if getattr(original, MARK, False):
        return True

    def _maybe_reuse_cached_actor(self, trial) -> bool:
        own = self._trial_to_actor.get(trial)
        if own is not None and trial not in self._resetting_trials and self._actor_manager.is_actor_started(own):
            return False  # its worker is launching: it starts on that one, and the cached actor waits for a new trial
        return original(self, trial)

    setattr(_maybe_reuse_cached_actor, MARK, True)
    TuneController._maybe_reuse_cached_actor = _maybe_reuse_cached_actor
    return True
