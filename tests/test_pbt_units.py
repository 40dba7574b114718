"""Population-based training's parts without Ray running: explore (PBT's and PB2's), the last report, the optimiser's
rate after a copy, the lineage mark in a checkpoint, and how --scheduler pbt and pb2 resolve."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from ray.tune.schedulers import TrialScheduler
from ray.tune.schedulers.pbt import _PBTTrialState

from record import schema as S
from record.errors import UsageError
from search_spaces import STUDIES, Mutation
from study import lineage, pb2
from study.pbt import Explore, SynchronousPBT, domain, interval
from study.resolve import resolve
from tests.conftest import new_sqlite
from trainables.checkpoint import save_model
from trainables.gan_config import GANConfig
from trainables.optim import load_keeping_lr

MUTATIONS = STUDIES["gan_loss_sweep"].mutations
HINGE = GANConfig(loss="hinge", norm_d="spectral", beta1=0.0, beta2=0.9, lr_g=1e-4, lr_d=3e-4, n_critic=2).to_dict()


def test_explore_clips_to_the_range_and_rounds_integers():
    out = Explore(MUTATIONS, GANConfig)({**HINGE, "lr_g": 0.5, "lr_d": 1e-9, "n_critic": 4.6, "instance_noise": -0.1})
    assert (out["lr_g"], out["lr_d"], out["n_critic"], out["instance_noise"]) == (1e-3, 5e-5, 5, 0.0)
    assert isinstance(out["n_critic"], int)


def test_explore_falls_back_to_the_default_for_a_value_the_config_refuses():
    """Label smoothing is for bce and lsgan only: a perturbed one under hinge goes back to 0, the rest stays."""
    out = Explore(MUTATIONS, GANConfig)({**HINGE, "label_smoothing": 0.2, "lr_g": 2e-4, "instance_noise": 0.1})
    assert out["label_smoothing"] == 0.0  # the one value at fault
    assert (out["lr_g"], out["instance_noise"], out["n_critic"]) == (2e-4, 0.1, 2)  # the others as explored
    bce = {**HINGE, "loss": "bce", "norm_d": "batch", "label_smoothing": 0.2}
    assert Explore(MUTATIONS, GANConfig)(bce)["label_smoothing"] == 0.2  # allowed there: kept


def test_fresh_draws_stay_in_the_declared_range():
    for m in (Mutation(5e-5, 1e-3, log=True), Mutation(0.0, 0.3), Mutation(1, 5, integer=True)):
        draws = [domain(m).sample(None) for _ in range(200)]
        assert all(m.low <= x <= m.high for x in draws)
    assert {domain(Mutation(1, 5, integer=True)).sample(None) for _ in range(400)} == {1, 2, 3, 4, 5}


def _synchronous(kind: str, max_t: int, every: int):
    """genstudy's synchronous PBT or PB2 over lr_g, as Tune gets it (metric and mode set)."""
    common = dict(time_attr="training_iteration", perturbation_interval=every, metric="val_fid", mode="min")
    if kind == "pb2":
        return pb2.SynchronousPB2(max_t, {"lr_g": MUTATIONS["lr_g"]}, GANConfig, **common)
    return SynchronousPBT(max_t, hyperparam_mutations={"lr_g": domain(MUTATIONS["lr_g"])}, **common)


@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_no_perturbation_at_the_last_report(kind):
    """At max_t a trial ends: PBT must not pause it to copy weights nothing would train (Ray's would)."""
    pbt = _synchronous(kind, 4, 1)
    assert pbt.on_trial_result(None, object(), {"training_iteration": 4, "val_fid": 1.0}) == TrialScheduler.CONTINUE
    with pytest.raises(KeyError):  # before max_t it is Ray's PBT, which knows no such trial
        pbt.on_trial_result(None, object(), {"training_iteration": 3, "val_fid": 1.0})


class _Trial:  # what Ray's PBT reads of a trial when it is added (hashable, as Tune's Trial is)
    def __init__(self, last_result: dict, checkpoint_config):
        self.config, self.evaluated_params, self.experiment_tag, self.last_result = {"lr_g": 1e-4}, {}, "t", last_result
        self.run_metadata = SimpleNamespace(checkpoint_manager=SimpleNamespace(checkpoint_config=checkpoint_config))


@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_a_restored_population_meets_after_its_restored_reports(kind):
    """--resume: trials restored at reports 2 and 3 (interval 2) meet at 4, not at Ray's initial sync point 2,
    which is in the past and would leave every paused trial waiting for ever."""
    pbt = _synchronous(kind, 8, 2)
    controller = SimpleNamespace(search_alg=None)
    config = SimpleNamespace(num_to_keep=None)
    trials = [_Trial(last, config) for last in ({"training_iteration": 2}, {"training_iteration": 3}, {},
                                               {"training_iteration": 8})]
    for t in trials:
        pbt.on_trial_add(controller, t)
    assert pbt._next_perturbation_sync == 4  # Ray's private state: the sync point its synchronous mode waits for
    assert [pbt._trial_state[t].last_train_time for t in trials] == [2, 3, 0, 0]  # a new and a finished one: as Ray


class _Member:  # what PB2 reads of a trial at a sync point and an exploit
    def __init__(self, i: int, config: dict):
        self.i, self.config, self.experiment_tag = i, config, f"member-{i}"

    def __str__(self) -> str:
        return f"member_{self.i}"


def _pb2_after_three_sync_points(seed: int):
    """A population of 6 whose val_fid falls each report by more the larger its lr_g (log-linearly), and by the same
    whatever its other values: the bandit should pick a large lr_g for a copied trial."""
    s = pb2.scheduler(MUTATIONS, GANConfig, 8, seed, time_attr="training_iteration", perturbation_interval=1)
    s.set_search_properties("val_fid", "min")
    rng = np.random.default_rng(seed)
    members = [_Member(i, {**GANConfig(loss="bce").to_dict(), "lr_g": float(10 ** rng.uniform(-4.3, -3.0)),
                           "lr_d": float(10 ** rng.uniform(-4.3, -3.0)), "n_critic": int(rng.integers(1, 6)),
                           "label_smoothing": float(rng.uniform(0, 0.3)), "instance_noise": float(rng.uniform(0, 0.3))})
               for i in range(6)]
    for report in (1, 2, 3):
        for m in members:
            fid = 300.0 - report * 20.0 * (math.log10(m.config["lr_g"]) + 4.5)
            s._save_trial_state(_PBTTrialState(m), report, {"val_fid": fid, "training_iteration": report}, m)
    return s, members


def test_pb2_models_a_log_scale_key_in_log10_and_an_integer_key_over_its_values():
    assert pb2.bounds(MUTATIONS["lr_g"]) == (math.log10(5e-5), math.log10(1e-3))
    assert pb2.bounds(MUTATIONS["n_critic"]) == (1, 6)  # truncated to int: 1..5 each one unit wide (6 clipped)
    assert pb2.bounds(MUTATIONS["label_smoothing"]) == (0.0, 0.3)
    s, members = _pb2_after_three_sync_points(0)
    rows = s.data[s.data["Trial"] == str(members[0])]
    assert list(rows["lr_g"]) == [math.log10(members[0].config["lr_g"])] * 3  # the GP's coordinates
    assert list(rows["n_critic"]) == [members[0].config["n_critic"]] * 3


def test_pb2_chooses_in_range_values_where_the_metric_improved_most():
    s, members = _pb2_after_three_sync_points(0)
    donor = min(members, key=lambda m: m.config["lr_g"])  # the slowest learner: the bandit should move it up
    chosen = [s._get_new_config(members[5], donor)[0] for _ in range(3)]
    for config in chosen:
        for key, m in MUTATIONS.items():
            assert m.low <= config[key] <= m.high, (key, config[key])
        assert isinstance(config["n_critic"], int)
        assert {k: v for k, v in config.items() if k not in MUTATIONS} == \
            {k: v for k, v in donor.config.items() if k not in MUTATIONS}  # the rest: the donor's
    assert chosen[0]["lr_g"] > 10 ** -3.35 > donor.config["lr_g"]  # top quarter of the log range, from below it
    again, members = _pb2_after_three_sync_points(0)
    assert again._get_new_config(members[5], donor)[0] == chosen[0]  # the seed decides


def test_interval_is_a_quarter_of_the_reports():
    assert [interval(t) for t in (1, 2, 4, 8, 12)] == [1, 1, 1, 2, 3]


def test_a_copied_optimiser_state_keeps_the_new_learning_rate():
    w = torch.nn.Parameter(torch.ones(3))
    old = torch.optim.Adam([w], lr=1e-2)
    w.sum().backward()
    old.step()
    new = torch.optim.Adam([w], lr=5e-4)  # the config PBT continued with
    load_keeping_lr(new, old.state_dict())
    assert new.param_groups[0]["lr"] == 5e-4
    assert torch.equal(new.state_dict()["state"][0]["exp_avg"], old.state_dict()["state"][0]["exp_avg"])


def test_a_checkpoint_names_the_trial_that_wrote_it(tmp_path):
    save_model(tmp_path, torch.nn.Linear(1, 1), {}, {"report": 3})
    lineage.mark(tmp_path, "aaa_00001")
    assert lineage.copied_from(tmp_path, "aaa_00001") is None  # its own: a resume, not a copy
    assert lineage.copied_from(tmp_path, "aaa_00002") == ("aaa_00001", 3)
    (tmp_path / lineage.ORIGIN_FILE).unlink()
    assert lineage.copied_from(tmp_path, "aaa_00002") is None  # written before lineage existed


@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_pbt_resolves_to_a_random_population_without_confirmation(kind):
    r = resolve("vae_beta_sweep", "quick", scheduler=kind)
    assert (r.searcher, r.confirm, set(r.mutations)) == ("random", 0, {"beta", "lr"})
    r = resolve("vae_beta_sweep", "smoke", scheduler=kind, sets=["lr=0.001"])
    assert set(r.mutations) == {"beta"}  # a key fixed with --set does not change
    assert resolve("vae_beta_sweep", "smoke").mutations == {}  # ASHA: nothing mutates


@pytest.mark.parametrize("kwargs, says", [
    ({"name": "ae_latent_sweep"}, "declares none"),
    ({"searcher": "tpe"}, "drop --searcher tpe"),
    ({"confirm": 2}, "--confirm 0"),
])
@pytest.mark.parametrize("kind", ["pbt", "pb2"])
def test_pbt_refuses_what_cannot_apply(kwargs, says, kind):
    args = {"name": "vae_beta_sweep", "profile": "smoke", "scheduler": kind, **kwargs}
    with pytest.raises(UsageError, match=says):
        resolve(**args)


def test_the_best_trials_configuration_is_read_from_its_kept_checkpoint(tmp_path, capsys):
    """study.best._kept_config: what the kept checkpoint's config.json says (the configuration PBT had moved the
    trial to), as params are written: strings; an unreadable one is named and gives nothing (the summary then shows
    the trial's first configuration)."""
    from mlflow.tracking import MlflowClient

    from study.best import _kept_config
    from trainables.checkpoint import save_config

    c = MlflowClient(new_sqlite(tmp_path))
    run = c.create_run(c.create_experiment("e", artifact_location=(tmp_path / "a").as_uri())).info.run_id
    c.log_param(run, "lr_g", "0.0002")  # how the trial started
    save_config(tmp_path / "ckpt", {"lr_g": 0.00024, "loss": "hinge"}, {})
    # the kept checkpoint is still in the writer's queue: it reaches the store when the writer is flushed
    writer = SimpleNamespace(client=c, flush=lambda: c.log_artifact(run, str(tmp_path / "ckpt" / "config.json")))
    assert _kept_config(writer, run) == {"lr_g": "0.00024", "loss": "hinge"}
    other = c.create_run(c.get_experiment_by_name("e").experiment_id).info.run_id
    assert _kept_config(writer, other) == {}
    assert f"configuration of run {other} did not read" in capsys.readouterr().err


def test_a_resumed_driver_keeps_the_exploits_its_snapshot_missed(tmp_path):
    """--resume under PBT: Tune's snapshot (and the MLflow callback's state in it) can predate an exploit the killed
    driver recorded. The continued trial's lineage and current values come from its run: the earlier exploit stays
    in the lineage at the next one, and what that one changed is measured against the values it trained with."""
    import pickle

    from mlflow.tracking import MlflowClient

    from study import result_keys as keys
    from study.mlflow_callback import MLflowTrialLogger

    uri = new_sqlite(tmp_path)
    c = MlflowClient(uri)
    exp = c.create_experiment("gan_loss_sweep", artifact_location=(tmp_path / "a").as_uri())
    parent = c.create_run(exp).info.run_id
    logger = MLflowTrialLogger(uri, exp, parent, "gan_loss_sweep", "val_fid", "min", 4, str(tmp_path / "staging"),
                               mutable=("lr_g",))
    donor, trial = SimpleNamespace(trial_id="d", config={"lr_g": 2e-4}), SimpleNamespace(trial_id="t", config={"lr_g": 1e-4})
    for t in (donor, trial):
        logger.on_trial_start(0, [], t)
        logger.on_trial_result(0, [], t, {keys.ITERATION: 1, "val_fid": 100.0})
    stale = pickle.dumps(logger)  # Tune's last snapshot: before the exploit
    copy = {keys.COPIED_FROM: "d", keys.COPIED_REPORT: 1, keys.COPIED_CONFIG: {"lr_g": 2.4e-4}}
    logger.on_trial_result(0, [], trial, {keys.ITERATION: 2, "val_fid": 90.0, **copy})
    logger.writer.flush()

    resumed = pickle.loads(stale)  # the driver killed, then --resume
    resumed.on_trial_start(0, [], trial)
    again = {keys.COPIED_FROM: "d", keys.COPIED_REPORT: 3, keys.COPIED_CONFIG: {"lr_g": 2.4e-4}}
    resumed.on_trial_result(0, [], trial, {keys.ITERATION: 3, "val_fid": 80.0})
    resumed.on_trial_result(0, [], trial, {keys.ITERATION: 4, "val_fid": 70.0, **again})
    resumed.writer.flush()
    run = c.get_run(resumed.runs["t"])
    events = json.loads(run.data.tags[S.PBT_LINEAGE])
    assert [e["report"] for e in events] == [1, 3] and run.data.tags[S.PBT_EXPLOITS] == "2"
    assert events[1]["changed"] == {}  # the same values again: nothing changed
    assert {m.step: m.value for m in c.get_metric_history(run.info.run_id, S.pbt_value("lr_g"))} == {
        1: 1e-4, 2: 2.4e-4, 3: 2.4e-4, 4: 2.4e-4}


def test_the_export_describes_each_population_based_scheduler():
    from analysis.figures.pbt import EXPLORE

    assert set(EXPLORE) == set(S.POPULATION_BASED)
    assert "PB2: Population Based Bandits" in EXPLORE["pb2"][0] and "Gaussian-process bandit" in EXPLORE["pb2"][1]
