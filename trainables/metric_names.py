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

VAE_METRICS = (TRAIN_RECON, TRAIN_KL, TRAIN_LOSS, TEST_RECON, TEST_KL, TEST_LOSS, TEST_NELBO)
