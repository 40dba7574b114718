"""Markdown sections of BENCHMARKS.md, one per benchmark."""

from __future__ import annotations

import math


def sections(results: dict) -> list[str]:
    out: list[str] = []
    for name, render in (("throughput", _throughput), ("overhead", _overhead), ("search", _search),
                         ("search_gan", _search_gan),
                         ("metric_cost", _metric_cost), ("memory", _memory), ("scale", _scale)):
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
        *(f"| {label} | | {rate.cell('{:.0f}')} | |" for label, rate in r.get("families", ())),
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
    from benchmarks.search import BASELINE

    budget = sorted(r["budgets"])[len(r["budgets"]) // 2]
    measured = r.get("baseline_run", True)
    lines = [f"## 3. Search efficiency at equal compute (`vae_beta_sweep`, quick profile's space with arch=mlp and its "
             "ASHA settings, no enqueued baselines, "
             f"{r['train_size']:,} MNIST training images, {r['epochs']} epochs a trial)",
             f"Random + FIFO runs {r['n']} trials to the end; its compute B (training images processed, "
             + (f"median {budget:,}" if measured else f"{budget:,} = {r['n']} trials x {r['epochs']} epochs x "
                f"{r['train_size']:,} images, computed from the settings: random + FIFO was not run") +
             f") is every method's budget. ASHA methods propose up to "
             f"{3 * r['n']} configurations and are cut at B; curves are the best val_nelbo reported so far "
             f"against images processed, in the order reports arrived. {r['seeds']} search seeds"
             + (f"; extra arguments {' '.join(r['extra'])}" if r["extra"] else "") + ".", "",
             f"![anytime curves]({r['figure']})" if r.get("figure") else "", ""]
    if measured:
        lines += ["| method | best val_nelbo at B (nats) | at least as good as random+fifo at B | compute to reach "
                  "random+fifo's final best (× B) | wall s to B |", "| --- | --- | --- | --- | --- |"]
        for method, m in r["summary"].items():
            lines.append(f"| {'+'.join(method)} | {m['best'].cell('{:.2f}')} | {m['as_good']} of {r['seeds']} | "
                         f"{m['reach'].cell('{:.2f}')} | {m['seconds_at_budget'].cell('{:.0f}')} |")
    else:
        lines += ["| method | best val_nelbo at B (nats) | runs whose compute reached B | wall s to B |",
                  "| --- | --- | --- | --- |"]
        for method, m in r["summary"].items():
            lines.append(f"| {'+'.join(method)} | {m['best'].cell('{:.2f}')} | {m['reached_budget']} of {r['seeds']} | "
                         f"{m['seconds_at_budget'].cell('{:.0f}')} |")
    if r.get("per_seed"):
        rows, k = r["per_seed"]
        lines += ["", "| seed | random+ASHA best at B | TPE+ASHA best at B | difference (TPE − random) | "
                  "TPE+ASHA at least as good |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {seed} | {a:.2f} | {b:.2f} | {d:+.2f} | {'yes' if ok else 'no'} |" for seed, a, b, d, ok in rows]
        lines += ["", f"TPE+ASHA at least as good as random+ASHA at B in **{k} of {len(rows)}** seeds "
                  f"(target ≥ {max(1, len(rows) - 1)}: **{'met' if k >= max(1, len(rows) - 1) else 'not met'}**)."]
    if measured:
        tpe = r["summary"][("tpe", "asha")]
        ok_reach, ok_good = tpe["reach"].median <= 0.5, tpe["as_good"] >= max(1, r["seeds"] - 1)
        lines += ["", f"Targets for TPE+ASHA: reach random+fifo's best at ≤ 0.5× its compute in the median "
                  f"(∞ counts where never reached): **{tpe['reach'].median:.2f}×, {'met' if ok_reach else 'not met'}**; "
                  f"at least as good at equal compute in ≥ {max(1, r['seeds'] - 1)} of {r['seeds']} seeds: "
                  f"**{tpe['as_good']}, {'met' if ok_good else 'not met'}**. Baseline: {'+'.join(BASELINE)}."]
    return lines


def _search_gan(r: dict) -> list[str]:
    from benchmarks.search_gan import spread

    rows = r["rows"]
    lines = [f"## 3b. Search at equal compute on `gan_loss_sweep` (smoke profile's space, widths 16–32, depth 2–3, 500 "
             f"generated images scored a report; {r['train_size']:,} MNIST training images; {r['epochs']} epochs = "
             f"{r['epochs'] * r['reports_per_epoch']} reports a trial; no enqueued baselines, no confirmation, no published model)",
             f"Compute: real images the discriminator processed (D steps × batch 64), {r['per_report']:,} a report for "
             f"every trial. B = {r['n']} trials × {r['epochs'] * r['reports_per_epoch']} reports × {r['per_report']:,} = "
             f"**{r['budget']:,} images**: PBT's population of {r['n']} and random + FIFO's {r['n']} trials each process B "
             f"(a PBT trial's reports after an exploit continue another trial's weights; each counts as the report it "
             f"trains); TPE + ASHA proposes up to {2 * r['n']} and is cut at B. Figure of merit: the best `val_fid` reported "
             f"within B, a Fréchet distance in the MNIST classifier's 128-d features between 500 generated images and "
             f"the validation split (lower is better), with the `test_fid` of that same report beside it. "
             f"{r['seeds']} search seeds; medians (min–max).", "",
             "| method | best val_fid within B | its test_fid | images counted | study wall s |",
             "| --- | --- | --- | --- | --- |"]
    for method, vals in rows.items():
        lines.append(f"| {'+'.join(method)} | {spread([v[0] for v in vals])} | {spread([v[1] for v in vals])} | "
                     f"{spread([v[2] for v in vals])} | {spread(r['wall'][method])} |")
    lines += ["", "| seed | " + " | ".join(f"{'+'.join(m)} val_fid (test_fid)" for m in rows) + " |",
              "| --- |" + " --- |" * len(rows)]
    for seed in range(r["seeds"]):
        lines.append(f"| {seed} | " + " | ".join(f"{rows[m][seed][0]:.1f} ({rows[m][seed][1]:.1f})" for m in rows) + " |")
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


def _scale(r: dict) -> list[str]:
    from benchmarks.scale import section

    return section(r)
