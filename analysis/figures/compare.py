"""The comparison section (``analysis.export --compare KEY``): the compared trials' curves overlaid,
their reconstructions and samples in one figure, and the table of every metric at an equal epoch
(``compare_<KEY>.csv``), with any reference the study registry names beside ours."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
import pandas as pd
import torch

from analysis import compare
from analysis.compare import Compared
from analysis.families import ANALYSES
from analysis.figures.family import DEFAULT_SPLIT_NOTE, FamilyAnalysis
from analysis.figures.common import Context, html_table, image_panel
from analysis.record import column_header, distance, label, nelbo_caption
from analysis.items import Figure, Omitted, Section, Table
from record import schema as S
from trainables.checkpoint import CONFIG_FILE, report_of
from trainables.images import uint8_to_float

N_IMAGES = 8  # test images reconstructed and prior samples drawn per trial
SPLITS = (("train", "-"), ("val", ":"), ("test", "--"))  # solid, dotted, dashed
def section(ctx: Context, key: str, at_epoch: int | None) -> Section:
    """The section; raises :class:`analysis.compare.CompareError` for a key or epoch that cannot be met."""
    r = ctx.record
    trials = compare.compared(r, key)
    epoch = compare.equal_epoch(r, trials, at_epoch)
    references = r.references
    unit = r.unit
    intro = (f"{len(trials)} trials that trained, side by side by {key}, compared at {unit} {epoch} "
             f"({'as asked' if at_epoch else f'the last {unit} all of them reached'}). Epochs count from 1: a notebook "
             f"loop over range(E) prints its last epoch as E - 1, so its 'epoch 19' of 20 is epoch 20 here.")
    items = [_table(ctx, key, trials, epoch, references), _curves(ctx, key, trials, epoch), _images(ctx, key, trials)]
    return Section(f"Comparison by {key}", intro, items)


def _table(ctx: Context, key: str, trials: list[Compared], epoch: int, references) -> Table:
    rows = compare.table_rows(ctx.record, trials, epoch, references)
    name = f"compare_{key}.csv"
    pd.DataFrame(rows).to_csv(ctx.out / name, index=False)
    shown = [{column_header(ctx.record, k): v for k, v in row.items() if k not in (S.TRIAL_ID, S.STATUS)} for row in rows]
    ref_text = ("; ".join(r.text() for r in references) + ". A reference is another setup's number on its own test "
                "set, shown for orientation: never used to choose anything.") if references else "No references."
    splits = _family(ctx).split_note
    unit = ctx.record.unit
    caption = (f"Every metric each trial logged at {unit} {epoch} ({splits}). References: {ref_text} All columns: "
               f"{name}.{nelbo_caption(ctx.record)}")
    return Table(f"All metrics at {unit} {epoch}, by {key}", caption, html_table(shown, "{:.4g}"), name)


def _curves(ctx: Context, key: str, trials: list[Compared], epoch: int) -> Figure | Omitted:
    title = f"Curves overlaid, by {key}"
    panels = [(t, keys) for t, keys in _family(ctx).compare_panels if any(
        k and c.trial.series(k) for c in trials for k in keys)]
    if not panels:
        panels = [(label(ctx.record, ctx.record.metric), (None, ctx.record.metric, ctx.record.test_metric))]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    colors = plt.get_cmap("viridis" if len(trials) > 10 else "tab10")
    for ax, (panel, keys) in zip(axes[0], panels):
        for i, c in enumerate(trials):
            color = colors(i / max(1, len(trials) - 1)) if len(trials) > 10 else colors(i % 10)
            for metric, (split, style) in zip(keys, SPLITS):
                if metric and c.trial.series(metric):
                    steps, values = zip(*c.trial.series(metric))
                    ax.plot(steps, values, style, color=color, lw=1.4, label=c.label if metric == _first(keys, c) else None)
        ax.axvline(epoch, color="gray", lw=0.8, ls="-.")
        heading = next((distance(ctx.record, k) for k in keys if k and distance(ctx.record, k)), panel)
        ax.set_title(heading, fontsize=10)  # a distance's panel names its feature space
        ax.set_xlabel(ctx.record.unit)
    trial_legend = axes[0, 0].legend(fontsize=7)
    if len(panels) == 1:
        axes[0, 0].add_artist(trial_legend)  # the split legend below would replace it
    axes[0, -1].legend([Line2D([], [], color="black", ls=style) for _, style in SPLITS], [s for s, _ in SPLITS],
                       fontsize=7, loc="upper right", title="split", title_fontsize=7)
    caption = (f"Each colour one trial ({key} and the other settings that vary). Solid: training split (mean over the "
               "epoch's batches); dotted: validation split (what the study selects on); dashed: test split (reported "
               f"only). The grey dash-dot line marks epoch {epoch}, where the table compares them."
               f"{nelbo_caption(ctx.record)}")
    return Figure(ctx.save(fig, f"compare_{key}_curves"), title, caption)


def _first(keys, c: Compared) -> str | None:
    return next((k for k in keys if k and c.trial.series(k)), None)


def _family(ctx: Context) -> FamilyAnalysis:
    return ANALYSES.get(ctx.record.family) or FamilyAnalysis(lambda _: [], split_note=DEFAULT_SPLIT_NOTE)


def _images(ctx: Context, key: str, trials: list[Compared]) -> Figure | Omitted:
    spec = _family(ctx).compare_images
    if spec is None:
        return Omitted(f"Images, by {key}", f"no image figure is defined for the {ctx.record.family!r} family")
    title = f"{spec.title}, by {key}"
    strips, epochs, shared = [], [], None
    for c in trials:
        with ctx.progress.step(f"compare: loading {c.label}'s checkpoint"):
            try:
                model, cfg = ctx.model(c.trial.run_id)
            except Exception as e:  # noqa: BLE001 - a missing checkpoint omits the figure, with the reason
                return Omitted(title, f"{c.label}: its checkpoint cannot be loaded: {e}")
        epochs.append(_checkpoint_report(ctx, c.trial.run_id))
        if spec.test_images and shared is None:
            try:
                data = ctx.dataset(cfg.dataset)
            except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
                return Omitted(title, str(e))
            idx = np.linspace(0, len(data.x_test) - 1, N_IMAGES).astype(int)  # spread over the test set, fixed
            shared = uint8_to_float(torch.from_numpy(np.asarray(data.x_test[idx])))
        strips.append(spec.strips(model, cfg, shared, N_IMAGES, ctx.options.seed))
    return _draw(ctx, key, trials, strips, epochs, shared, title, spec)


def _draw(ctx: Context, key: str, trials: list[Compared], strips: list, epochs: list, shared, title: str,
          spec) -> Figure:
    n_cols = max(len(s) for s in strips)
    heads, unit = spec.heads, ctx.record.unit
    rows = ([("test images", (shared,))] if shared is not None else []) + [
        (f"{c.label}\n(checkpoint of {unit} {e})" if e else c.label, s) for c, s, e in zip(trials, strips, epochs)]
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(4.6 * n_cols + 1.5, 0.75 * len(rows) + 0.8), squeeze=False)
    for i, (label, row) in enumerate(rows):
        for j in range(n_cols):
            if j < len(row):
                image_panel(axes[i, j], _strip(row[j]), "")
            else:
                axes[i, j].axis("off")
        axes[i, 0].text(-0.02, 0.5, label, transform=axes[i, 0].transAxes, ha="right", va="center", fontsize=7)
    for j in range(n_cols):
        axes[0, j].set_title(heads[j], fontsize=9)
    caption = (f"One row per trial, from its kept checkpoint (the {unit} of its best {ctx.record.metric}, which the row "
               f"names). {spec.note}Samples use the same latents (seed {ctx.options.seed}) in every row; not "
               "cherry-picked.")
    return Figure(ctx.save(fig, f"compare_{key}_images"), title, caption)


def _strip(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one row image (H, N * (W + 2)) with 2-pixel gaps."""
    tiles = [np.pad(img.permute(1, 2, 0).numpy(), ((0, 0), (0, 2), (0, 0)), constant_values=1.0) for img in images]
    row = np.concatenate(tiles, axis=1)
    return row[..., 0] if row.shape[-1] == 1 else row


def _checkpoint_report(ctx: Context, run_id: str) -> int | None:
    path = ctx.artifact(run_id, CONFIG_FILE)
    return None if path is None else report_of(json.loads(path.read_text()))
