"""Pure loss functions behind registries."""
