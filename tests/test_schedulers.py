"""``--scheduler``: each choice builds the Ray Tune scheduler docs/running.md names, with the study's budgets."""

from __future__ import annotations

from ray.tune.schedulers import FIFOScheduler

from study.pb2 import SynchronousPB2
from study.pbt import SynchronousPBT
from study.resolve import resolve
from study.tuner import HYPERBAND_BRACKETS, make_scheduler


def _brackets(scheduler) -> list:
    return scheduler._brackets  # Ray's AsyncHyperBandScheduler (ASHAScheduler is the same class, one bracket)


def test_asha_has_one_bracket_and_hyperband_three():
    asha = make_scheduler(resolve("vae_beta_sweep", "quick"))
    hyperband = make_scheduler(resolve("vae_beta_sweep", "quick", scheduler="hyperband"))
    assert len(_brackets(asha)) == 1 and len(_brackets(hyperband)) == HYPERBAND_BRACKETS == 3
    # bracket s first judges a trial at grace_period * rf**s reports (quick: 2, 6; 18 is past max_t 12)
    firsts = [min(b._rungs)[0] if b._rungs else None for b in _brackets(hyperband)]
    assert firsts[0] == 2 and len(set(firsts)) == 3


def test_pbt_and_fifo():
    pbt = make_scheduler(resolve("gan_loss_sweep", "smoke", scheduler="pbt"))
    assert isinstance(pbt, SynchronousPBT) and pbt._synch and pbt.max_t == 2
    assert set(pbt._hyperparam_mutations) == {"lr_g", "lr_d", "label_smoothing", "instance_noise", "n_critic"}
    pb2 = make_scheduler(resolve("gan_loss_sweep", "smoke", scheduler="pb2"))
    assert isinstance(pb2, SynchronousPB2) and pb2._synch and pb2.max_t == 2 and pb2._resample_probability == 0
    assert set(pb2._hyperparam_bounds) == set(pbt._hyperparam_mutations)
    assert isinstance(make_scheduler(resolve("vae_beta_sweep", "smoke", scheduler="fifo")), FIFOScheduler)
    assert isinstance(make_scheduler(resolve("vae_beta_sweep", "smoke"), fifo=True), FIFOScheduler)
