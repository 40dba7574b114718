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
FID_INCEPTION = "fid_inception"  # Inception-v3 FID; only when its weights are on disk

# DDPM family: train_loss, val_loss and test_loss are Ho et al.'s L_simple (the mean squared error of the
# epsilon prediction per pixel, t uniform); val_/test_ use the same seeded (t, noise) pairs in every trial
DDIM_SAMPLES_PER_S = "ddim_samples_per_s"  # images per second of DDIM sampling (ddim_steps network calls each)
LEARNING_RATE = "learning_rate"  # the learning rate in force at the end of the report (after warm-up)

# Records made before the validation split: their study metric was one of these test metrics
LEGACY_FID = "fid"  # then: Fréchet distance to the test images
LEGACY_KID = "kid"

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


def test_counterpart(metric: str) -> str:
    """The test-split metric reported beside validation metric ``metric`` (``val_nelbo`` -> ``test_nelbo``)."""
    return metric.replace("val_", "test_", 1)
