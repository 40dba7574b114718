"""The MLflow pieces without a study: run names, the saved view, the link, the dataset input, model signatures."""

import json
from pathlib import Path

import numpy as np
import torch

from study.mlflow_inputs import dataset_input
from study.mlflow_models import signature
from study.mlflow_ui import experiment_tags, runs_link, trial_run_name
from trainables.data.small import load_synthetic
from trainables.families import FAMILIES
from trainables.gan_config import GANConfig
from trainables.vae_config import VAEConfig


def test_trial_run_names_show_the_number_and_the_headline_values():
    config = {"beta": 0.812345, "latent_dim": 12, "arch": "mlp", "lr": 1e-3}
    assert trial_run_name(3, config, ("beta", "latent_dim", "arch")) == "trial-3 β=0.812 latent=12 mlp"
    assert trial_run_name(10, config, ("lr", "missing")) == "trial-10 lr=0.001"
    assert trial_run_name(1, config, ()) == "trial-1"


def test_saved_view_ranks_trials_by_the_study_metric_in_its_direction():
    tags = experiment_tags("gan_loss_sweep", "Which loss?", "val_fid", "min", "test_fid", ["loss", "lr_g"])
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    view = json.loads(tags["mlflow.sharedViewState.genstudy-trials"])
    state = json.loads(view["state"])
    assert state["orderByKey"] == "metrics.`best_val_fid`" and state["orderByAsc"] is True
    assert state["searchFilter"] == "tags.trial_id LIKE '%'"
    assert state["selectedColumns"][-2:] == ["params.`loss`", "params.`lr_g`"]
    assert {"metrics.`val_fid`", "metrics.`test_fid`", "tags.`status`"} <= set(state["selectedColumns"])
    maximise = json.loads(json.loads(experiment_tags("x_y", "", "val_acc", "max", "test_acc", [])[
        "mlflow.sharedViewState.genstudy-trials"])["state"])
    assert maximise["orderByAsc"] is False
    assert "best_val_fid" in tags["mlflow.note.content"] and "Views menu" in tags["mlflow.note.content"]


def test_link_opens_the_saved_view_in_model_training():
    assert runs_link("7", "http://h:5001/") == ("http://h:5001/#/experiments/7/runs?workflowType=machine_learning"
                                                 "&viewStateShareKey=genstudy-trials")


def test_dataset_input_names_the_data_its_digest_and_split_sizes(tmp_path):
    data = load_synthetic()
    ds_input = dataset_input(data, tmp_path)
    ds = ds_input.dataset
    assert (ds.name, ds.digest, ds.source_type) == ("synthetic", data.digest(), "local")
    assert json.loads(ds.source) == {"uri": str(Path(tmp_path).resolve())}
    assert json.loads(ds.profile) == {"splits": {"train": 1707, "val": 341, "test": 512}, "num_rows": 2560}
    assert [(t.key, t.value) for t in ds_input.tags] == [("mlflow.data.context", "training")]


def test_signatures_have_a_dynamic_batch_and_name_only_several_tensors():
    data = load_synthetic()
    vae_cfg = VAEConfig(dataset="synthetic", arch="mlp", depth=1, width=16, latent_dim=3)
    vae = FAMILIES["vae"].publish(FAMILIES["vae"].build(vae_cfg), vae_cfg, data)
    sig = signature(vae.model)
    assert [(s.name, s.shape, s.type) for s in sig.inputs.inputs] == [(None, (-1, 1, 28, 28), np.dtype("float32"))]
    assert [(s.name, s.shape) for s in sig.outputs.inputs] == [(None, (-1,))]
    assert [(s.name, s.shape) for s in signature(vae.programs["encoder"]).outputs.inputs] == \
        [("mu", (-1, 3)), ("logvar", (-1, 3))]
    gan_cfg = GANConfig(dataset="synthetic", depth=2, width=8, latent_dim=5)
    torch.manual_seed(0)
    gan = FAMILIES["gan"].publish(FAMILIES["gan"].build(gan_cfg), gan_cfg, data)
    assert signature(gan.model).inputs.inputs[0].shape == (-1, 5)
    assert signature(gan.model).outputs.inputs[0].shape == (-1, 1, 28, 28)


def test_a_failed_publish_is_reported_and_the_study_still_ends(monkeypatch, capsys):
    from study import best as study_best
    from study import mlflow_models
    from study.resolve import resolve

    def broken(*args, **kwargs):
        raise RuntimeError("export broke")

    monkeypatch.setattr(mlflow_models, "publish", broken)
    from record.reader import Outcome

    best = Outcome("t1", "b1", "finished", 3, best=101.5, best_report=3)
    study_best.publish(resolve("vae_beta_sweep", "smoke"), None, "1", "p1", best, None, None)
    assert "publishing the best model failed (RuntimeError: export broke); its checkpoint is in run b1" in \
        capsys.readouterr().err
