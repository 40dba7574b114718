"""study.actor_reuse: a cached actor never displaces an actor whose worker is already launching, and still replaces a
request that waits for resources (so no trial waits on resources a cached actor holds). Tune's own method runs on a
stand-in controller: the real actor cache, the patched method, fakes only for Ray's actors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ray.tune.execution.tune_controller import TuneController
from ray.tune.utils.object_cache import _ObjectCache

from study import actor_reuse

KEY = "1 CPU"  # the trials' resource request (the cache's key)


class Actors:
    """The actor manager's two calls that the method makes: which actors are launched, and their Ray handles."""

    def __init__(self, launched: set[str]):
        self.launched = launched
        self._live_actors_to_ray_actors_resources = {}

    def is_actor_started(self, actor: str) -> bool:
        return actor in self.launched


class Controller:
    """The state ``TuneController._maybe_reuse_cached_actor`` reads and writes; removals and resets recorded."""

    def __init__(self, own: dict, launched: set[str]):
        self._trial_to_actor = dict(own)
        self._actor_to_trial = {a: t for t, a in own.items()}
        self._resetting_trials: set = set()
        self._actor_cache = _ObjectCache(may_keep_one=True)
        self._actor_cache.cache_object(KEY, "cached")  # a finished trial's actor, kept for the next trial
        self._actor_manager = Actors(launched)
        self._actor_manager._live_actors_to_ray_actors_resources["cached"] = ("ray actor", None)
        self.removed: list[str] = []
        self.reset: list = []

    def _remove_actor(self, tracked_actor: str) -> None:
        self.removed.append(tracked_actor)

    def _schedule_trial_reset(self, trial, config, tag) -> None:
        self._resetting_trials.add(trial)
        self.reset.append(trial)


class _Trial(SimpleNamespace):
    __hash__ = object.__hash__  # a key of the controller's maps, as Tune's Trial is
    __eq__ = object.__eq__


def _trial(name: str) -> _Trial:
    return _Trial(name=name, placement_group_factory=KEY, config={}, experiment_tag=name,
                  set_ray_actor=lambda actor: None)


@pytest.fixture(autouse=True)
def patched():
    assert actor_reuse.keep_launched_actors()
    yield


def test_a_trial_whose_actor_is_launching_keeps_it_and_the_cached_actor_waits():
    trial = _trial("waiting")
    c = Controller({trial: "launching"}, launched={"launching"})
    assert TuneController._maybe_reuse_cached_actor(c, trial) is False
    assert c.removed == [] and c._trial_to_actor[trial] == "launching"
    assert c._actor_cache.has_cached_object(KEY)  # for the next new trial


def test_a_request_still_waiting_for_resources_is_replaced_by_the_cached_actor():
    trial = _trial("pending")
    c = Controller({trial: "pending"}, launched=set())  # no resources yet: the cached actor holds them
    assert TuneController._maybe_reuse_cached_actor(c, trial) is True
    assert c.removed == ["pending"] and c._trial_to_actor[trial] == "cached" and c.reset == [trial]


def test_a_new_trial_takes_the_cached_actor():
    trial = _trial("new")
    c = Controller({}, launched=set())
    assert TuneController._maybe_reuse_cached_actor(c, trial) is True
    assert c._trial_to_actor[trial] == "cached" and not c._actor_cache.has_cached_object(KEY)


def test_a_trial_resetting_on_a_cached_actor_is_still_reported_as_reusing_it():
    trial = _trial("resetting")
    c = Controller({trial: "cached-before"}, launched={"cached-before"})
    c._resetting_trials.add(trial)
    assert TuneController._maybe_reuse_cached_actor(c, trial) is True  # Tune's own answer; nothing swapped
    assert c.removed == []


def test_the_patch_is_applied_once():
    method = TuneController._maybe_reuse_cached_actor
    assert actor_reuse.keep_launched_actors()
    assert TuneController._maybe_reuse_cached_actor is method and getattr(method, actor_reuse.MARK)
