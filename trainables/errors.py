"""Errors a training loop raises to end a trial, shared by every family."""


class Diverged(RuntimeError):
    """Training broke down (non-finite loss, or a GAN's D won completely); the message starts with
    ``diverged:`` and the trial must fail, not retry."""
