"""Population-based training's parts without Ray running: explore, the last report, the optimiser's rate after a
copy, the lineage mark in a checkpoint, and how --scheduler pbt resolves."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from ray.tune.schedulers import TrialScheduler

from record import schema as S
from record.errors import UsageError
from search_spaces import STUDIES, Mutation
from study import lineage
from study.pbt import Explore, SynchronousPBT, domain, interval
from study.resolve import resolve
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


def test_no_perturbation_at_the_last_report():
    """At max_t a trial ends: PBT must not pause it to copy weights nothing would train (Ray's would)."""
    pbt = SynchronousPBT(4, time_attr="training_iteration", perturbation_interval=1, metric="val_fid", mode="min",
                         hyperparam_mutations={"lr_g": domain(MUTATIONS["lr_g"])})
    assert pbt.on_trial_result(None, object(), {"training_iteration": 4, "val_fid": 1.0}) == TrialScheduler.CONTINUE
    with pytest.raises(KeyError):  # before max_t it is Ray's PBT, which knows no such trial
        pbt.on_trial_result(None, object(), {"training_iteration": 3, "val_fid": 1.0})


class _Trial:  # what Ray's PBT reads of a trial when it is added (hashable, as Tune's Trial is)
    def __init__(self, last_result: dict, checkpoint_config):
        self.config, self.evaluated_params, self.experiment_tag, self.last_result = {"lr_g": 1e-4}, {}, "t", last_result
        self.run_metadata = SimpleNamespace(checkpoint_manager=SimpleNamespace(checkpoint_config=checkpoint_config))


def test_a_restored_population_meets_after_its_restored_reports():
    """--resume: trials restored at reports 2 and 3 (interval 2) meet at 4, not at Ray's initial sync point 2,
    which is in the past and would leave every paused trial waiting for ever."""
    pbt = SynchronousPBT(8, time_attr="training_iteration", perturbation_interval=2, metric="val_fid", mode="min",
                         hyperparam_mutations={"lr_g": domain(MUTATIONS["lr_g"])})
    controller = SimpleNamespace(search_alg=None)
    config = SimpleNamespace(num_to_keep=None)
    trials = [_Trial(last, config) for last in ({"training_iteration": 2}, {"training_iteration": 3}, {},
                                               {"training_iteration": 8})]
    for t in trials:
        pbt.on_trial_add(controller, t)
    assert pbt._next_perturbation_sync == 4  # Ray's private state: the sync point its synchronous mode waits for
    assert [pbt._trial_state[t].last_train_time for t in trials] == [2, 3, 0, 0]  # a new and a finished one: as Ray


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


def test_pbt_resolves_to_a_random_population_without_confirmation():
    r = resolve("vae_beta_sweep", "quick", scheduler="pbt")
    assert (r.searcher, r.confirm, set(r.mutations)) == ("random", 0, {"beta", "lr"})
    r = resolve("vae_beta_sweep", "smoke", scheduler="pbt", sets=["lr=0.001"])
    assert set(r.mutations) == {"beta"}  # a key fixed with --set does not change
    assert resolve("vae_beta_sweep", "smoke").mutations == {}  # ASHA: nothing mutates


@pytest.mark.parametrize("kwargs, says", [
    ({"name": "ae_latent_sweep"}, "declares none"),
    ({"searcher": "tpe"}, "drop --searcher tpe"),
    ({"confirm": 2}, "--confirm 0"),
])
def test_pbt_refuses_what_cannot_apply(kwargs, says):
    args = {"name": "vae_beta_sweep", "profile": "smoke", "scheduler": "pbt", **kwargs}
    with pytest.raises(UsageError, match=says):
        resolve(**args)


def test_the_best_trials_configuration_is_read_from_its_kept_checkpoint(tmp_path, capsys):
    """study.best._kept_config: what the kept checkpoint's config.json says (the configuration PBT had moved the
    trial to), as params are written: strings; an unreadable one is named and gives nothing (the summary then shows
    the trial's first configuration)."""
    from mlflow.tracking import MlflowClient

    from study.best import _kept_config
    from trainables.checkpoint import save_config

    c = MlflowClient(f"sqlite:///{tmp_path}/m.db")
    run = c.create_run(c.create_experiment("e", artifact_location=(tmp_path / "a").as_uri())).info.run_id
    c.log_param(run, "lr_g", "0.0002")  # how the trial started
    save_config(tmp_path / "ckpt", {"lr_g": 0.00024, "loss": "hinge"}, {})
    c.log_artifact(run, str(tmp_path / "ckpt" / "config.json"))
    writer = SimpleNamespace(client=c)
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

    uri = f"sqlite:///{tmp_path}/m.db"
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
