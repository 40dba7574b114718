"""The cycle-consistent VAE family's figures (Jha et al. 2018): a Table-1-style table of probe accuracies
on z and s beside the paper's, probe accuracies over training, and for the best trial the swap grid,
interpolations in s and in z, the s->z and z->s prediction networks, and t-SNE of the latents
(:mod:`analysis.figures.cyclevae_model`). ``cyclevae_table1.csv`` is written here."""

from __future__ import annotations

import csv

import matplotlib.pyplot as plt

from analysis.figures import cyclevae_model
from analysis.figures.common import Context, html_table
from analysis.figures.family import FamilyAnalysis
from analysis.items import Figure, Omitted, Section, Table
from analysis.record import Trial
from trainables import metric_names as M

TABLE_FILE = "cyclevae_table1.csv"
# Jha et al. 2018, Table 1, rows "Ours": (z train, z test, s train, s test) accuracy in %
PAPER = {
    ("mnist", 16, 16): (17.72, 17.56, 99.72, 98.35),
    ("mnist", 64, 64): (26.04, 26.55, 99.95, 98.33),
    ("sprites", 512, 64): (11.55, 11.47, 98.53, 97.16),
    ("sprites", 1024, 512): (11.27, 11.61, 98.13, 97.22),
}
PAPER_Z_TRAIN, PAPER_Z_TEST, PAPER_S_TRAIN, PAPER_S_TEST = range(4)  # positions in PAPER's tuples
# (our metric, column name, the PAPER number shown beside it): the paper does not say whether its z classifier
# read a sample of q(z|x) or its mean, so its z numbers stand beside both z probes
COLUMNS = ((M.TRAIN_ZSAMPLE_ACC, "z-sample train acc. (%)", PAPER_Z_TRAIN),
           (M.TEST_ZSAMPLE_ACC, "z-sample test acc. (%)", PAPER_Z_TEST),
           (M.TRAIN_ZMEAN_ACC, "z-mean train acc. (%)", PAPER_Z_TRAIN),
           (M.TEST_ZMEAN_ACC, "z-mean test acc. (%)", PAPER_Z_TEST),
           (M.TRAIN_S_ACC, "s train acc. (%)", PAPER_S_TRAIN), (M.TEST_S_ACC, "s test acc. (%)", PAPER_S_TEST))
Z_KL_COLUMN = (M.TEST_Z_KL, "z KL, test (nats per image)")

def sections(ctx: Context) -> list[Section]:
    best = ctx.record.best_trial
    table = _table(ctx)
    if best is None:
        return [Section("Cycle-consistent VAE", "", [table, Omitted("figures of the best trial",
                                                                    f"no trial has a finite {ctx.record.metric}")])]
    label = f"best trial {best.trial_id}"
    items = [_accuracy_curves(ctx, best, label)] + cyclevae_model.items(ctx, best, label)
    return [Section("Cycle-consistent VAE: Table 1", "", [table]),
            Section(f"Cycle-consistent VAE: {label}", _describe(best), items)]


def _describe(t: Trial) -> str:
    keys = ("z_dim", "s_dim", "recon_weight", "kl_weight", "reverse_weight", "lr", "batch_size", "reverse_pairs")
    config = ", ".join(f"{k}={t.config[k]:.4g}" if isinstance(t.config.get(k), float) else f"{k}={t.config.get(k)}"
                       for k in keys if k in t.config)
    return f"Run <code>{t.run_id}</code>, {t.status.replace('_', ' ')} after {t.epochs} epochs; {config}."


def best_per_size(ctx: Context) -> list[tuple[tuple[str, int, int], Trial, int]]:
    """``((dataset, z_dim, s_dim), trial, report)``: per latent size, the trial with the best study metric
    (validation) and the report where it was best (its kept checkpoint)."""
    r = ctx.record
    groups: dict[tuple, tuple[Trial, int, float]] = {}
    for t in r.scored():
        best = t.best(r.metric, r.mode)
        if best is None:
            continue
        key = (t.config.get("dataset"), t.config.get("z_dim"), t.config.get("s_dim"))
        if key not in groups or (best[1] > groups[key][2]) == (r.mode == "max"):
            groups[key] = (t, best[0], best[1])
    return [(k, t, step) for k, (t, step, _) in sorted(groups.items(), key=lambda kv: str(kv[0]))]


def _table(ctx: Context) -> Table | Omitted:
    title = "Table 1: label accuracy of probes on z and on s"
    rows = []
    for (dataset, z_dim, s_dim), t, step in best_per_size(ctx):
        ours = {"source": f"ours: trial {t.trial_id}, epoch {step}", "dataset": dataset, "z dim": z_dim, "s dim": s_dim}
        for key, name, _ in COLUMNS:
            value = t.at(key, step)
            ours[name] = None if value is None else round(100 * value, 2)
        kl = t.at(Z_KL_COLUMN[0], step)
        ours[Z_KL_COLUMN[1]] = None if kl is None else round(kl, 2)
        score = t.at(ctx.record.metric, step)
        ours[f"{ctx.record.metric} (selected on)"] = None if score is None else round(score, 4)
        rows.append(ours)
        paper = PAPER.get((dataset, z_dim, s_dim))
        if paper is not None:
            rows.append({"source": "Jha et al. 2018, Table 1 (paper)", "dataset": dataset, "z dim": z_dim,
                         "s dim": s_dim, **{name: paper[i] for _, name, i in COLUMNS}, Z_KL_COLUMN[1]: None,
                         f"{ctx.record.metric} (selected on)": None})
    if not rows:
        return Omitted(title, "no trial logged the probe accuracies")
    with open(ctx.out / TABLE_FILE, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    caption = ("Per latent size, the trial with the best study metric on the validation split, at the epoch of its "
               "kept checkpoint; test accuracies are reported, never selected on. Each probe is the release's "
               "classifier (two hidden layers of 256 with batch norm), fitted on a fixed sample of training "
               "encodings: z-sample on one seeded sample of q(z|x), z-mean on its posterior mean, s on the encoder's "
               "output. 'train' scores it on the images it was fitted on, 'test' on the test split (Sprites: on the "
               "other half of each test character's frames, with a probe fitted on the first half). The z KL is the "
               "mean KL(q(z|x) || N(0, I)) of the scored test images, summed over z's dimensions: near 0, z carries "
               "nothing and its sample probe sits at chance whatever the model learned. Paper rows are Jha et al.'s "
               "own numbers (their classifier training is not released); the paper does not say whether its z "
               "classifier read a sample of z or its mean, so its z numbers are shown under both z probes. Low z "
               f"and high s accuracy is good; chance is 1/number of labels. {ctx.record.selection_note}.")
    return Table(title, caption, html_table(rows, "{:.2f}"), TABLE_FILE)


def _accuracy_curves(ctx: Context, t: Trial, label: str) -> Figure | Omitted:
    title = f"{label}: probe accuracies over training"
    series = [(M.VAL_S_ACC, "val s", "tab:blue", "-"), (M.TEST_S_ACC, "test s", "tab:blue", "--"),
              (M.VAL_ZMEAN_ACC, "val z mean", "tab:purple", "-"), (M.TEST_ZMEAN_ACC, "test z mean", "tab:purple", "--"),
              (M.VAL_ZSAMPLE_ACC, "val z sample", "tab:red", "-"),
              (M.TEST_ZSAMPLE_ACC, "test z sample", "tab:red", "--"),
              (M.TRAIN_S_ACC, "train s (fitted images)", "tab:blue", ":"),
              (M.TRAIN_ZSAMPLE_ACC, "train z sample (fitted images)", "tab:red", ":")]
    if not t.series(M.VAL_S_ACC):
        return Omitted(title, "the run logged no probe accuracies")
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for key, name, color, style in series:
        if t.series(key):
            steps, values = zip(*t.series(key))
            ax.plot(steps, values, style, marker="o", ms=3, color=color, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("probe accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=2, loc="center right")  # between the s curves near 1 and the z curves below 0.4
    for key, name, style in ((M.VAL_RECON_MSE, "val, own s", "-"),
                             (M.VAL_SWAP_MSE, "val, s of a same-label image", "--"),
                             (M.TRAIN_SWAP_MSE, "train, swapped s (objective)", ":")):
        if t.series(key):
            steps, values = zip(*t.series(key))
            ax2.plot(steps, values, style, marker="o", ms=3, label=name)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("MSE per pixel")
    ax2.legend(fontsize=8)
    caption = ("Left: label accuracy of the probes on s (blue), on z's posterior mean (purple; the study metric's z "
               "probe) and on one sample of z (red) after each epoch, on validation (solid) and test (dashed) images "
               "and on the training images the probe was fitted on (dotted). Right: reconstruction error per pixel "
               "from the posterior mean with the image's own s, and with the s of another image of the same label "
               "(the forward cycle's swap), on validation images; and the training objective's swapped "
               "reconstruction error, averaged over the epoch.")
    return Figure(ctx.save(fig, "cyclevae_best_curves"), title, caption)

ANALYSIS = FamilyAnalysis(sections)
