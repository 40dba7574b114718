"""Metric names: the one place trainables, study and analysis take them from.

Splits are prefixes: ``train_``, ``val_`` (carved from the training set; the only split a study
selects on) and ``test_`` (logged and reported, never selected on). VAE values are per image,
summed over pixels and latent dimensions, in nats.
"""

EPOCH = "epoch"
N_PARAMS = "n_params"
SAMPLES_PER_S = "samples_per_s"
BETA = "beta"  # the KL weight in force at the end of the epoch

# VAE family
TRAIN_RECON = "train_recon"
TRAIN_KL = "train_kl"
TRAIN_LOSS = "train_loss"  # the objective trained: recon + beta * kl
VAL_RECON = "val_recon"
VAL_KL = "val_kl"
VAL_LOSS = "val_loss"
VAL_NELBO = "val_nelbo"  # recon + kl: the negative ELBO, comparable across beta (the beta study's metric)
TEST_RECON = "test_recon"
TEST_KL = "test_kl"
TEST_LOSS = "test_loss"
TEST_NELBO = "test_nelbo"

# GAN family
LOSS_D = "loss_d"
LOSS_G = "loss_g"
D_REAL = "d_real"
D_FAKE = "d_fake"
VAL_FID = "val_fid"  # Fréchet distance of generated images to the validation images, in classifier features
VAL_KID = "val_kid"
TEST_FID = "test_fid"  # the same against the test images: reported, never selected on
TEST_KID = "test_kid"
CLASS_ENTROPY = "class_entropy"  # nats, of the classifier's predicted-class histogram over samples (log 10 max)
SAMPLE_CONFIDENCE = "sample_confidence"  # the classifier's mean max-probability over samples
CLASSES_COVERED = "classes_covered"  # classes predicted at least once among the samples
CLASSIFIER_ACCURACY = "classifier_accuracy"  # test accuracy of the classifier behind the fid metrics

# DANN families (Ganin et al. 2016). Accuracies are fractions in [0, 1]; the domain classifier predicts
# P(target), and its accuracy is measured on equal numbers of held-out source and target examples
# (0.5: the features hide the domain).
SOURCE_ACC = "source_acc"  # label accuracy on the source test split
TARGET_VAL_ACC = "target_val_acc"  # accuracy on the labelled target validation split: the oracle (*_oracle studies)
TARGET_TEST_ACC = "target_test_acc"  # label accuracy on the target test split: reported, never selected on
DOMAIN_ACC = "domain_acc"  # domain classifier accuracy, source val (else test) vs target val, equal numbers
LABEL_LOSS = "label_loss"  # mean source cross-entropy over the report's training steps
DOMAIN_LOSS = "domain_loss"  # mean domain logistic loss over the report's training steps (both domains)
LAMBDA_P = "lambda_p"  # the gradient reversal's strength at the end of the report
LR_P = "lr_p"  # the learning rate at the end of the report
TARGET_ONLY_VAL_ACC = "target_only_val_acc"  # the train-on-target upper bound (trained once per study)
TARGET_ONLY_TEST_ACC = "target_only_test_acc"
# the label-free study metric (min): deep embedded validation (You et al. 2019; trainables.dev), the importance-
# weighted 0-1 error on the labelled *source* validation split with a control variate, an estimate of the target
# error rate that reads no target label
VAL_DEV_RISK = "val_dev_risk"

DANN_METRICS = (SOURCE_ACC, VAL_DEV_RISK, TARGET_VAL_ACC, TARGET_TEST_ACC, DOMAIN_ACC, LABEL_LOSS, DOMAIN_LOSS, LAMBDA_P, LR_P,
                TARGET_ONLY_VAL_ACC, TARGET_ONLY_TEST_ACC)

# Cycle-consistent VAE family: probe accuracies in [0, 1] of the label from z and from s (trainables.probes), per
# split; z is probed twice: on one seeded sample of q(z|x) (zsample) and on its posterior mean (zmean).
# Reconstruction errors are mean squared errors per pixel (pixels in [0, 1]).
TRAIN_ZSAMPLE_ACC = "train_zsample_acc"
TRAIN_ZMEAN_ACC = "train_zmean_acc"
TRAIN_S_ACC = "train_s_acc"
VAL_ZSAMPLE_ACC = "val_zsample_acc"
VAL_ZMEAN_ACC = "val_zmean_acc"
VAL_S_ACC = "val_s_acc"
TEST_ZSAMPLE_ACC = "test_zsample_acc"
TEST_ZMEAN_ACC = "test_zmean_acc"
TEST_S_ACC = "test_s_acc"
PROBE_ACCURACIES = {"train": (TRAIN_ZSAMPLE_ACC, TRAIN_ZMEAN_ACC, TRAIN_S_ACC),  # (z sample, z mean, s) per split
                    "val": (VAL_ZSAMPLE_ACC, VAL_ZMEAN_ACC, VAL_S_ACC),
                    "test": (TEST_ZSAMPLE_ACC, TEST_ZMEAN_ACC, TEST_S_ACC)}
# z's information: mean KL(q(z|x) || N(0, I)) per scored image, nats, summed over z's dimensions (an upper bound on
# what z carries about x: 0 when every posterior is the prior)
VAL_Z_KL = "val_z_kl"
TEST_Z_KL = "test_z_kl"
# The study metric (max; trainables.cyclevae_score): s-probe minus z-mean-probe accuracy, with a z that carries under
# ln(number of labels) nats scored as if its probe read the label perfectly (z-mean accuracy taken as 1)
VAL_DISENTANGLE_SCORE = "val_disentangle_score"
TEST_DISENTANGLE_SCORE = "test_disentangle_score"  # its test counterpart, reported, never selected on
VAL_ACC_GAP = "val_acc_gap"  # val_s_acc - val_zsample_acc: the study metric before issue 23, reported, never selected on
TEST_ACC_GAP = "test_acc_gap"
TRAIN_SWAP_MSE = "train_swap_mse"  # forward cycle: x1 from (z1, s2) and x2 from (z2, s1), epoch mean
TRAIN_REVERSE_L1 = "train_reverse_l1"  # reverse cycle: mean |z''1 - z''2|, epoch mean, unweighted
VAL_RECON_MSE = "val_recon_mse"  # x from its own (z mean, s)
VAL_SWAP_MSE = "val_swap_mse"  # x from its z mean and the s of a same-label image
TEST_RECON_MSE = "test_recon_mse"
TEST_SWAP_MSE = "test_swap_mse"
LR = "lr"  # the learning rate in force during the epoch (DDPM: at the end of the report, after warm-up)

# DDPM family: train_loss, val_loss and test_loss are Ho et al.'s L_simple (the mean squared error of the
# epsilon prediction per pixel, t uniform); val_/test_ use the same seeded (t, noise) pairs in every trial
DDIM_SAMPLES_PER_S = "ddim_samples_per_s"  # images per second of DDIM sampling (ddim_steps network calls each)

# Records made before the validation split: their study metric was one of these test metrics
LEGACY_FID = "fid"  # then: Fréchet distance to the test images
LEGACY_KID = "kid"

# VAE family, once per study for its best trial's kept checkpoint and each confirmation run's (Family.final_metrics;
# trainables.vae_nll):
# the importance-weighted NLL estimate (Burda et al. 2016), nats per image, and its standard error over images.
# Its k is the trial's config key nll_iw_k (a param of the run), its images nll_iw_images (None: the whole split).
VAL_NLL_IW = "val_nll_iw"
VAL_NLL_IW_SE = "val_nll_iw_se"
TEST_NLL_IW = "test_nll_iw"
TEST_NLL_IW_SE = "test_nll_iw_se"
NLL_IW_SPLIT_METRICS = {"val": (VAL_NLL_IW, VAL_NLL_IW_SE), "test": (TEST_NLL_IW, TEST_NLL_IW_SE)}
NLL_IW_METRICS = (TEST_NLL_IW, TEST_NLL_IW_SE, VAL_NLL_IW, VAL_NLL_IW_SE)
STANDARD_ERROR_OF = dict(NLL_IW_SPLIT_METRICS.values())  # a final estimate -> its standard error within the run

# GAN family, once per study for its best trial's kept checkpoint and each confirmation run's (Family.final_metrics;
# trainables.fid.fid_inception):
# FID proper (Heusel et al. 2017: the FID Inception-v3 network through torchmetrics, 2048-d pool features) of the
# samples every report scores, to the validation and to the test images. Absent when that network's weights are
# not on disk (never downloaded, never replaced by another network).
VAL_FID_INCEPTION = "val_fid_inception"
TEST_FID_INCEPTION = "test_fid_inception"
FID_INCEPTION_SPLIT_METRICS = {"val": VAL_FID_INCEPTION, "test": TEST_FID_INCEPTION}
FID_INCEPTION_METRICS = (TEST_FID_INCEPTION, VAL_FID_INCEPTION)

FINAL_METRICS = NLL_IW_METRICS + FID_INCEPTION_METRICS  # every family's Family.final_metrics names

VAE_METRICS = (TRAIN_RECON, TRAIN_KL, TRAIN_LOSS, VAL_RECON, VAL_KL, VAL_LOSS, VAL_NELBO, TEST_RECON, TEST_KL,
               TEST_LOSS, TEST_NELBO)

# per split, for loops that evaluate several splits the same way
VAE_SPLIT_METRICS = {"val": (VAL_RECON, VAL_KL, VAL_LOSS, VAL_NELBO), "test": (TEST_RECON, TEST_KL, TEST_LOSS, TEST_NELBO)}
FID_SPLIT_METRICS = {"val": (VAL_FID, VAL_KID), "test": (TEST_FID, TEST_KID)}


def split_of(metric: str) -> str | None:
    """``"val"``, ``"test"`` or ``"train"`` when the name says which split it is computed on, else None."""
    for split in ("val", "test", "train"):
        if metric.startswith(f"{split}_") or f"_{split}_" in metric:
            return split
    return None


def is_selection_metric(metric: str) -> bool:
    """A study may optimise only a metric computed on a validation split (``val_nelbo``, ``target_val_acc``)."""
    return split_of(metric) == "val"


def best_of(metric: str) -> str:
    """``best_val_nelbo``: a run's best value of ``metric`` (a trial's: its kept checkpoint's; a study's parent
    run: its best trial's), logged once when the trial or the study ends."""
    return f"best_{metric}"


def test_counterpart(metric: str) -> str:
    """The test-split metric reported beside validation metric ``metric`` (``val_nelbo`` -> ``test_nelbo``)."""
    return metric.replace("val_", "test_", 1)
