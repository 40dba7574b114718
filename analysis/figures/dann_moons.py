"""The two-moons figures of Ganin et al. (JMLR 2016, Figure 2): the generated data, then for the
standard NN and for DANN (each the best trial of its kind by the study's metric) the four panels:
label classification, PCA of the hidden representation, domain classification, hidden neurons;
a table of both at their chosen reports, and what the label-free criterion and the oracle would choose."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import Context, html_table
from analysis.figures.dann_common import best_of, chosen, criteria_table, describe, family_data
from analysis.figures.family import FamilyAnalysis
from analysis.items import Figure, Omitted, Section, Table
from trainables import metric_names as M

KINDS = (("nn", "Standard NN", lambda c: c.get("adversarial") is False),
         ("dann", "DANN", lambda c: c.get("adversarial") is True))
KEYS = ("lambda_adapt", "lr", "hidden", "adversarial")
GRID = 300  # points per axis of the decision-surface grids


def sections(ctx: Context) -> list[Section]:
    try:
        data = family_data(ctx)
    except Exception as e:  # noqa: BLE001 - DataUnavailable names the remedy
        return [Section("Two moons", "", [Omitted("Two-moons figures", f"the moons cannot be made: {e}")])]
    out = [Section("Two moons: the data", data.origin, [_data_figure(ctx, data)])]
    picked = [(role, label, best_of(ctx, kind)) for role, label, kind in KINDS]
    rows = []
    for role, label, t in picked:
        if t is None:
            out.append(Section(f"Two moons: {label}", "", [Omitted(f"{label}: Figure 2 panels",
                                                                 "the study has no successful trial of this kind")]))
            continue
        numbers = chosen(ctx, t)
        rows.append({"model": label, "trial": t.trial_id, "reports run": t.epochs,
                     **{k: t.config.get(k) for k in KEYS[:3]}, **numbers})
        try:
            model, _ = ctx.model(t.run_id)
            item = _figure2(ctx, model, data, role, label, numbers)
        except Exception as e:  # noqa: BLE001 - a missing or corrupt checkpoint omits the figure
            item = Omitted(f"{label}: Figure 2 panels", f"its checkpoint cannot be loaded: {e}")
        intro = f"The best {label} by {ctx.record.metric}: {describe(t, KEYS)}."
        out.append(Section(f"Two moons: {label}", intro, [item]))
    if rows:
        out.append(Section("Two moons: NN against DANN", "", [_table(ctx, rows),
                                                             criteria_table(ctx, [(l, k) for _, l, k in KINDS])]))
    return out


def _table(ctx: Context, rows: list[dict]) -> Table:
    caption = (f"Each model is the best trial of its kind by {ctx.record.metric}; every number is the one logged "
               "at that trial's chosen report (the checkpoint drawn above). source_acc: accuracy on the source test "
               "split; target_test_acc: on the target test split, never selected on; domain_acc: the domain "
               "regressor's accuracy, source validation against target validation "
               "(0.5: it cannot tell the domains apart); val_dev_risk: the label-free DEV estimate of the target "
               "error.")
    return Table("Two moons: source and target accuracy, NN and DANN", caption, html_table(rows))


def _data_figure(ctx: Context, data) -> Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    _points(axes[0], data["source_train"].x, data["source_train"].y, data["target_train"].x)
    axes[0].set_title("training: source (labelled), target (unlabelled)", fontsize=9)
    for split, marker in (("target_val", "o"), ("target_test", "s")):
        x, y = data[split].x, data[split].y
        axes[1].scatter(x[:, 0], x[:, 1], c=np.where(y == 1, "tab:green", "tab:red"), marker=marker, s=10, alpha=0.6)
        axes[1].scatter([], [], c="gray", marker=marker, s=10, label=split.replace("_", " "))  # legend: shape only
    axes[1].set_title("held out: target validation and test, red label 0, green label 1", fontsize=9)
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_aspect("equal")
    caption = (f"{data.origin}. Left: what training sees, the source training points with their labels (red +: "
               "label 0, green -: label 1) and the target training points without theirs (black). Right: the "
               "independently drawn target validation and test points, coloured by their labels.")
    return Figure(ctx.save(fig, "dann_moons_data"), "Two moons: the generated data", caption)


def _points(ax, xs, ys, xt) -> None:
    ax.scatter(*xs[ys == 0].T, marker="+", c="tab:red", s=30, label="source, label 0")
    ax.scatter(*xs[ys == 1].T, marker="_", c="tab:green", s=30, label="source, label 1")
    ax.scatter(*xt.T, c="black", s=6, label="target")


@torch.no_grad()
def _figure2(ctx: Context, model, data, role: str, label: str, numbers: dict) -> Figure:
    xs, ys, xt = data["source_train"].x, data["source_train"].y, data["target_train"].x
    allx = np.concatenate([xs, xt])
    lo, hi = allx.min(axis=0) - 0.5, allx.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
    grid = torch.from_numpy(np.c_[gx.ravel(), gy.ravel()].astype(np.float32))
    logits, domain = model(grid)
    p_label = torch.softmax(logits, 1)[:, 1].view(GRID, GRID).numpy()
    p_target = torch.sigmoid(domain).view(GRID, GRID).numpy()
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.4))
    for ax, p, cmap, title in ((axes[0], p_label, "RdYlGn", "label classification"),
                               (axes[2], p_target, "coolwarm", "domain classification")):
        ax.contourf(gx, gy, p, levels=[0, 0.5, 1], cmap=cmap, alpha=0.3)
        ax.contour(gx, gy, p, levels=[0.5], colors="black", linewidths=2)
        _points(ax, xs, ys, xt)
        ax.set_title(f"{label}: {title}", fontsize=9)
    from sklearn.decomposition import PCA

    h_s, h_t = (model.features(torch.from_numpy(x)).numpy() for x in (xs, xt))
    pca = PCA(n_components=2).fit(np.concatenate([h_s, h_t]))
    _points(axes[1], pca.transform(h_s), ys, pca.transform(h_t))
    axes[1].set_title(f"{label}: PCA of the hidden representation", fontsize=9)
    _points(axes[3], xs, ys, xt)
    w, b = model.hidden.weight.numpy(), model.hidden.bias.numpy()
    xline = np.array([lo[0], hi[0]])
    for (w1, w2), b0 in zip(w, b):
        if abs(w2) > 1e-9:
            axes[3].plot(xline, -(w1 * xline + b0) / w2, lw=1)
        else:
            axes[3].axvline(-b0 / w1, lw=1)
    axes[3].set_title(f"{label}: hidden neurons' 0.5 lines", fontsize=9)
    for ax in axes[[0, 2, 3]]:
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
    axes[0].legend(fontsize=7, loc="lower left")
    caption = (f"Figure 2 of Ganin et al. for the {label} checkpoint chosen by {ctx.record.metric} (report "
               f"{numbers['report']}: target test accuracy {numbers[M.TARGET_TEST_ACC]:.3f}, source test "
               f"{numbers[M.SOURCE_ACC]:.3f}, domain accuracy {numbers[M.DOMAIN_ACC]:.3f}). From the left: the label "
               "predictor's regions and 0.5 boundary over the source (red +, green -) and target (black) training "
               "points; the first two principal components of the hidden layer (PCA fitted on both domains' points); "
               "the domain regressor's regions (red: predicted target) and its 0.5 contour; each hidden unit's "
               "0.5 line (sigmoid(w·x + b) = 0.5). DANN's hidden units are trained to make the domains "
               "indistinguishable, so its domain regressor fails and the representations of both domains overlap.")
    return Figure(ctx.save(fig, f"dann_moons_{role}_figure2"), f"{label}: Figure 2 panels", caption)

ANALYSIS = FamilyAnalysis(sections)
