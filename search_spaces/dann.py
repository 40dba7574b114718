"""DANN studies (Ganin et al., JMLR 2016): the two moons (section 5.1.1) and MNIST -> MNIST-M (5.2.4).

Both choose hyperparameters and checkpoints without a target label, by the DEV risk (``val_dev_risk``,
min; You et al., ICML 2019, :mod:`trainables.dev`): the 0-1 error on the labelled *source* validation
split, importance-weighted by a domain classifier's density ratio on the network's features, with a
control variate. The target test accuracy is shown beside it (never selected on).

The paper selects by reverse validation (section 5.1.2; Zhong et al. 2010): train a second, reverse
classifier on the target training points with the model's pseudo-labels, and score it on the labelled
source validation split. Here DEV replaces it, for cost: reverse validation trains a second DANN per
report (as long as the trial's own training on MNIST-M: minutes of a 2-core machine, every report of
every trial), DEV fits one logistic regression on features (four L2 weights: 1.7 to 3.8 s for
10,000 768-d vectors on the loaded 2-core machine, measured). Its paper argues it unbiased for the
target risk given the true density ratio of the features (covariate shift), its control variate
lowering the variance of plain importance-weighted validation.

The labelled-target oracle stays available by name: ``dann_moons_oracle`` and ``dann_mnist_m_oracle``
are the same studies selecting on ``target_val_acc`` (max). Every trial of every DANN study logs
``val_dev_risk``, ``target_val_acc`` and ``target_test_acc``, so the report shows, among one study's
trials, the target test accuracy of the model each criterion picks (analysis/figures/dann_common.py).

Baselines are trials of the study, enqueued first in every profile: the paper's DANN and the
baseline it is compared with (the standard NN on the moons: ``adversarial=False``; the source-only
network on MNIST-M: ``lambda_max=0``, the same network and batches without the reversed gradient).
The train-on-target upper bound sees target labels, so it is no trial: ``Family.prepare`` trains it
once and every trial logs its accuracies (:mod:`trainables.dann_reference`).
"""

from __future__ import annotations

from search_spaces.study import Params, Profile, Study
from trainables import metric_names as M


def moons_space(p: Params) -> dict:
    """The shallow network's size and SGD step, the domain weight, and DANN versus the standard NN."""
    return {
        "lambda_adapt": p.float("lambda_adapt", 0.3, 30.0, log=True),  # two decades around the paper's 6
        "lr": p.float("lr", 0.005, 0.2, log=True),  # around the authors' 0.05
        "hidden": p.int("hidden", 4, 64, log=True),  # 15 in the paper; 2-D moons need few units
        "adversarial": p.categorical("adversarial", [True, False]),  # False: the standard NN (Figure 2, top row)
    }


def mnist_m_space(p: Params) -> dict:
    """The two schedules (learning rate mu_p, reversal lambda_p), the batch and the reversal's cap."""
    return {
        "lr": p.float("lr", 0.002, 0.05, log=True),  # mu_0: 0.01 in the paper
        "lr_alpha": p.float("lr_alpha", 1.0, 30.0, log=True),  # alpha: 10 in the paper
        "lr_beta": p.float("lr_beta", 0.5, 1.0),  # beta: 0.75 in the paper
        "gamma": p.float("gamma", 3.0, 30.0, log=True),  # 10 in the paper ("not optimized")
        "lambda_max": p.float("lambda_max", 0.0, 1.5),  # 1 in the paper; 0 is the source-only network
        "batch_size": p.categorical("batch_size", [64, 128, 256]),  # 128 (64 + 64) in the paper
    }


MOONS_PAPER = {"lambda_adapt": 6.0, "lr": 0.05, "hidden": 15}  # section 5.1.1 and experiments_moons.py
MOONS_BASELINES = ({**MOONS_PAPER, "adversarial": True}, {**MOONS_PAPER, "adversarial": False})

MNIST_M_PAPER = {"lr": 0.01, "lr_alpha": 10.0, "lr_beta": 0.75, "gamma": 10.0, "batch_size": 128}  # section 5.2.2
MNIST_M_BASELINES = ({**MNIST_M_PAPER, "lambda_max": 1.0}, {**MNIST_M_PAPER, "lambda_max": 0.0})  # DANN, source only

MOONS_PROFILES = {
    # smoke: the two baselines and two proposals, 60 epochs, 3 reports each, no ASHA stop; about a minute
    "smoke": Profile(num_samples=4, max_epochs=60, grace_period=3, reduction_factor=2, fixed={"reports": 3}),
    # quick: the paper's 500 epochs (Algorithm 1, one point per step: about 40 s a trial on a core)
    "quick": Profile(num_samples=12, max_epochs=500, grace_period=4, reduction_factor=3, fixed={"reports": 10}),
    # full: a wider search, same length
    "full": Profile(num_samples=100, max_epochs=500, grace_period=3, reduction_factor=3, max_concurrent=8,
                    fixed={"reports": 10}),
}

MNIST_M_PROFILES = {
    # smoke: the two baselines on 4,096 source and target images, batches of 32 (512 steps: the network starts to
    # learn after about 200), 500 images per evaluation split; about a minute
    "smoke": Profile(num_samples=2, max_epochs=2, grace_period=2, reduction_factor=2,
                     fixed={"source_train_size": 4096, "target_train_size": 4096, "eval_size": 500, "batch_size": 32}),
    # quick: under 20 minutes on 2 cores: 3 epochs of all 50,000 + 50,000 training images, 2 reports an
    # epoch on 5,000 images of each held-out split
    "quick": Profile(num_samples=8, max_epochs=3, grace_period=2, reduction_factor=3,
                     fixed={"reports_per_epoch": 2, "eval_size": 5000}),
    # full: a GPU machine or a cluster; every held-out image
    "full": Profile(num_samples=100, max_epochs=20, grace_period=4, reduction_factor=3, max_concurrent=8),
}

ORACLE = " (oracle: chosen on labelled target validation)"


def _studies(name: str, description: str, **kw) -> list[Study]:
    """The label-free study ``name`` (``val_dev_risk``, min) and its oracle twin ``<name>_oracle``
    (``target_val_acc``, max), otherwise equal; both show ``target_test_acc`` beside their metric."""
    return [Study(name=name, description=description + " Chosen by DEV, without target labels.",
                  metric=M.VAL_DEV_RISK, mode="min", test_metric=M.TARGET_TEST_ACC, **kw),
            Study(name=f"{name}_oracle", description=description + ORACLE,
                  metric=M.TARGET_VAL_ACC, mode="max", test_metric=M.TARGET_TEST_ACC, **kw)]


STUDIES = [
    *_studies(
        "dann_moons",
        "Figure 2 of Ganin et al.: does the domain-adversarial hidden layer carry the moons' labels to the "
        "rotated target better than the standard network? Shallow DANN vs NN.",
        family="dann_moons",
        space=moons_space,
        profiles=MOONS_PROFILES,
        fixed={"dataset": "moons"},
        baseline=MOONS_BASELINES,
    ),
    *_studies(
        "dann_mnist_m",
        "Table 2 of Ganin et al.: MNIST -> MNIST-M with the Figure 4(a) network; DANN's schedules, batch "
        "and reversal strength against the source-only network.",
        family="dann",
        space=mnist_m_space,
        profiles=MNIST_M_PROFILES,
        fixed={"dataset": "mnist_m"},
        baseline=MNIST_M_BASELINES,
    ),
]
