"""Markdown sections of BENCHMARKS.md, one per benchmark."""

from __future__ import annotations

import math


def sections(results: dict) -> list[str]:
    out: list[str] = []
    for name, render in (("throughput", _throughput), ("overhead", _overhead), ("search", _search),
                         ("metric_cost", _metric_cost), ("memory", _memory)):
        if name in results:
            out += render(results[name]) + [""]
    return out


def _throughput(r: dict) -> list[str]:
    met = r["speedup"].median >= 4 and r["gen_nelbo"].median <= r["ref_nelbo"].median + 0.5
    return [
        "## 1. Training throughput (MNIST VAE, 784-400-20, batch 128, Adam 1e-3)",
        f"Reference: pytorch/examples' loop (torchvision MNIST, per-image `ToTensor`, `DataLoader`); "
        f"genstudy: `trainables.vae.fit` (uint8 tensors in memory, batched by index, fused Adam; the reference "
        f"keeps pytorch/examples' default Adam). Same module, "
        f"{r['threads']} torch threads, {r['epochs']} epoch(s) each, runs: {len(r['speedup'].values)}.",
        "", "| | reference | genstudy | ratio |", "| --- | --- | --- | --- |",
        f"| training samples/s | {r['ref_rate'].cell('{:.0f}')} | {r['gen_rate'].cell('{:.0f}')} | "
        f"**{r['speedup'].cell('{:.2f}')}×** |",
        f"| test NELBO after {r['epochs']} epoch(s), nats | {r['ref_nelbo'].cell()} | {r['gen_nelbo'].cell()} | |",
        f"| conv VAE (3 blocks, 32 ch, latent 32), samples/s | | {r['conv_rate'].cell('{:.0f}')} | |",
        f"| DCGAN (default config, batch 64), real images/s | | {r['gan_rate'].cell('{:.0f}')} | |",
        "", f"Target ≥ 4× with equal or better NELBO: **{'met' if met else 'not met'}**.",
        "Where the reference's time goes: a PIL image and a `ToTensor` call per sample and collation per "
        "batch; genstudy indexes one uint8 tensor, converts each batch once and steps Adam as one fused "
        "kernel. What is left is the model's own arithmetic: see the analysis below.",
    ]


def _overhead(r: dict) -> list[str]:
    lines = ["## 2. Platform overhead (`python -m study.run` against the same `fit` in one plain process)",
             f"Whole-process wall time, one trial at a time, {r['threads']} threads; runs per row in brackets. "
             "Every searched key fixed, so each trial does identical work.", "",
             "| trials | plain process, s | study.run, s | ratio | overhead per trial, s |",
             "| --- | --- | --- | --- | --- |"]
    for c in r["cases"]:
        lines.append(f"| {c['n']} × {c['label']} ({c['train_size']:,} images × {c['epochs']} epochs; "
                     f"{c['repeats']} runs) | "
                     f"{c['plain'].cell()} | {c['study'].cell()} | **{c['ratio'].cell('{:.2f}')}×** | "
                     f"{c['per_trial_overhead'].cell()} |")
    targets = {"~5 s trials": 1.5, "~60 s trials": 1.10}
    for c in r["cases"]:
        goal = targets.get(c["label"])
        if goal:
            ok = c["ratio"].median <= goal
            lines.append(f"- {c['label']}: target ≤ {goal}×: **{'met' if ok else 'not met'}**")
    lines.append("- Where the time goes, phase by phase, and what was cut: see the analysis below "
                 "(`python -m benchmarks.phases`).")
    return lines


def _search(r: dict) -> list[str]:
    lines = ["## 3. Search efficiency (`vae_beta_sweep`, smoke data: 4,000 training images)",
             f"{r['n']} trials of up to {r['epochs']} epochs each way. Epochs are counted over all trials in "
             "the order reports arrived.", "",
             "| seed | random best | random: epochs to its best (of total) | TPE+ASHA: epochs to that value "
             "(of total) | TPE+ASHA best |", "| --- | --- | --- | --- | --- |"]
    for row in r["rows"]:
        tpe = row["tpe_epochs"] if row["tpe_epochs"] is not None else "not reached"
        lines.append(f"| {row['seed']} | {row['target']:.2f} | {row['random_epochs']} ({row['random_total']}) | "
                     f"{tpe} ({row['tpe_total']}) | {row['tpe_best']:.2f} |")
    ratio = r["ratio"]
    reached = sum(math.isfinite(v) for v in ratio.values)
    ok = ratio.median <= 0.5
    lines.append(f"\nCompute ratio TPE+ASHA / random, median over all {len(ratio.values)} seeds (a seed that never "
                 f"reached random's best counts as ∞; {reached} of {len(ratio.values)} reached it): "
                 f"**{ratio.cell('{:.2f}')}**; target ≤ 0.5: **{'met' if ok else 'not met'}**.")
    return lines


def _metric_cost(r: dict) -> list[str]:
    fid, export = r["fid"], r["export"]
    fid_line = (f"| FID, {r['fid_n']:,} vs {r['fid_n']:,} images (classifier features and Fréchet distance; training images stand in for generated ones) | {fid['seconds']:.1f} | "
                f"{fid['peak_mib']:.0f} |" if "seconds" in fid else f"| FID | not measured: {fid['error']} | |")
    exp_line = (f"| `analysis.export` of a smoke study | {export['seconds']:.1f} | {export['peak_mib']:.0f} |"
                if "seconds" in export else f"| `analysis.export` | not measured: {export['error']} | |")
    return ["## 4. Metric cost", "", "| what | seconds | peak RSS, MiB |", "| --- | --- | --- |", fid_line,
            exp_line]


def _memory(r: dict) -> list[str]:
    trial = f"{r['trial_mib']:.0f}" if r["trial_mib"] else "not seen"
    return ["## 5. Memory during the smoke study", "",
            f"Peak RSS of the driver: **{r['driver_mib']:.0f} MiB**; of one trial process: **{trial} MiB** "
            f"({r['n_trial_processes']} trial processes sampled every 0.2 s)."]
