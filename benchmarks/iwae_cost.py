"""Cost of the importance-weighted NLL (k = 5000 by default) of conv VAEs of the quick profile's sizes on
MNIST test images, per 1,000 images, at a given number of torch threads; untrained weights (the cost does
not depend on them). ``python -m benchmarks.iwae_cost --data-root ../shared/data --threads 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from trainables.data import load_dataset
from trainables.data.binarize import binarize_eval
from trainables.images import uint8_to_float
from trainables.iwae import DEFAULT_CHUNK, estimate_nll
from trainables.models.vae import build_vae
from trainables.vae_config import DEFAULT_K, VAEConfig

SIZES = ((16, 16, 3), (32, 32, 3), (32, 32, 2), (32, 32, 1))  # (width, latent_dim, depth): quick's conv range


def measure(x: torch.Tensor, width: int, latent: int, depth: int, k: int, chunk: int, batch: int) -> dict:
    """Wall and CPU seconds of one estimate over ``x``, scaled to 1,000 images."""
    torch.manual_seed(0)
    cfg = VAEConfig(arch="conv", width=width, latent_dim=latent, depth=depth, likelihood="bernoulli")
    model = build_vae(cfg, (1, 28, 28))
    estimate_nll(model, x[:1], "bernoulli", k=min(k, 200), chunk=chunk)  # warm-up: allocator, kernels
    wall, cpu = time.perf_counter(), time.process_time()
    _, result = estimate_nll(model, x, "bernoulli", k=k, chunk=chunk, batch=batch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scale = 1000 / len(x)
    return {"width": width, "latent_dim": latent, "depth": depth, "k": k, "chunk": chunk, "images": len(x),
            "wall_s_per_1000": round(wall * scale, 1), "cpu_s_per_1000": round(cpu * scale, 1),
            "nll": round(result.nll, 2), "stderr": round(result.stderr, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    for name in ("threads", "images", "k", "chunk", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")  # exits 2
    torch.set_num_threads(args.threads)
    grey = torch.from_numpy(load_dataset("mnist", args.data_root).x_test[:args.images])
    x = uint8_to_float(binarize_eval(grey, "dynamic", "test"))
    for width, latent, depth in SIZES:
        row = measure(x, width, latent, depth, args.k, args.chunk, args.batch)
        print(json.dumps({"threads": args.threads, "load_1min": round(os.getloadavg()[0], 2), **row}), flush=True)


if __name__ == "__main__":
    main()
