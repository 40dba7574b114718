"""Metric names: the one place trainables, study and analysis take them from.

VAE values are per image, summed over pixels and latent dimensions, in nats.
"""

EPOCH = "epoch"
N_PARAMS = "n_params"
SAMPLES_PER_S = "samples_per_s"
BETA = "beta"  # the KL weight in force at the end of the epoch

# VAE family
TRAIN_RECON = "train_recon"
TRAIN_KL = "train_kl"
TRAIN_LOSS = "train_loss"  # the objective trained: recon + beta * kl
TEST_RECON = "test_recon"
TEST_KL = "test_kl"
TEST_LOSS = "test_loss"
TEST_NELBO = "test_nelbo"  # recon + kl: the negative ELBO, comparable across beta

# GAN family
LOSS_D = "loss_d"
LOSS_G = "loss_g"
D_REAL = "d_real"
D_FAKE = "d_fake"
FID = "fid"
KID = "kid"
CLASS_ENTROPY = "class_entropy"  # nats, of the classifier's predicted-class histogram over samples (log 10 max)
SAMPLE_CONFIDENCE = "sample_confidence"  # the classifier's mean max-probability over samples
CLASSES_COVERED = "classes_covered"  # classes predicted at least once among the samples
CLASSIFIER_ACCURACY = "classifier_accuracy"  # test accuracy of the classifier behind fid
FID_INCEPTION = "fid_inception"  # Inception-v3 FID; only when its weights are on disk

VAE_METRICS = (TRAIN_RECON, TRAIN_KL, TRAIN_LOSS, TEST_RECON, TEST_KL, TEST_LOSS, TEST_NELBO)
