"""What every figure module shares: the export context (record, output folder, data, models,
downloaded artifacts, options) and helpers to save matplotlib figures and image grids as PNGs."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt  # the export sets MPLBACKEND=Agg; a notebook keeps its inline backend
import numpy as np
import torch

from analysis.progress import Progress
from analysis.record import StudyRecord
from record import schema as S

FIGURE_DIR = "figures"
DPI = 110
STATUS_COLORS = {S.FINISHED: "tab:blue", S.STOPPED_EARLY: "tab:orange", S.FAILED: "tab:red", S.KILLED: "tab:gray",
                 S.REJECTED_CAP: "tab:purple"}


@dataclass(frozen=True)
class Options:
    """Sizes of the long analysis steps (defaults keep a smoke export under two minutes on 2 cores)."""

    top_k: int = 5
    tsne_points: int = 1000  # test images embedded by t-SNE (Barnes-Hut, O(n log n))
    tsne_perplexities: tuple[float, float] = (10.0, 40.0)
    svm_train_size: int | None = 10_000  # training latent means the SVM fits on (None: all)
    gan_samples: int = 2000  # generated images for nearest neighbours and the cherry-picked grid
    diffusion_samples: int = 1000  # DDIM samples for the cherry-picked grid and the memorisation check
    seed: int = 0


@dataclass
class Context:
    """Everything a figure function needs; models, data and artifacts are loaded once and cached."""

    record: StudyRecord
    out: Path
    data_root: Path | None
    options: Options = field(default_factory=Options)
    progress: Progress = field(default_factory=Progress)
    _cache: dict[Any, Any] = field(default_factory=dict)
    _tmp: Path | None = None

    # --- outputs ------------------------------------------------------------------------------
    def save(self, fig: plt.Figure, name: str) -> str:
        """Write ``fig`` as ``figures/<name>.png``; returns that relative path."""
        rel = f"{FIGURE_DIR}/{name}.png"
        (self.out / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
        fig.savefig(self.out / rel, dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        return rel

    def save_grid(self, images: torch.Tensor, name: str, nrow: int = 8) -> str:
        """Write images ``(N, C, H, W)`` in [0, 1] as one grid ``figures/<name>.png``."""
        from trainables.images import save_grid

        rel = f"{FIGURE_DIR}/{name}.png"
        (self.out / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
        save_grid(images, self.out / rel, nrow=nrow)
        return rel

    # --- inputs -------------------------------------------------------------------------------
    @property
    def tmp(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="genstudy-analysis-"))
        return self._tmp

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def artifact(self, run_id: str, path: str) -> Path | None:
        """A run's artifact downloaded to a temporary folder, or None when the run does not have it."""
        key = ("artifact", run_id, path)
        if key not in self._cache:
            from mlflow.artifacts import download_artifacts

            try:
                local = download_artifacts(run_id=run_id, artifact_path=path, dst_path=str(self.tmp / run_id),
                                           tracking_uri=self.record.tracking_uri)
                self._cache[key] = Path(local)
            except Exception:  # noqa: BLE001 - MLflow raises several types for a missing artifact
                self._cache[key] = None
        return self._cache[key]

    def image_artifacts(self, run_id: str) -> list[str]:
        """Paths of the PNGs under ``images/`` of a run, sorted."""
        key = ("images", run_id)
        if key not in self._cache:
            from record.store import client

            arts = client(self.record.tracking_uri).list_artifacts(run_id, "images")
            self._cache[key] = sorted(a.path for a in arts if a.path.endswith(".png"))
        return self._cache[key]

    def image_steps(self, run_id: str, key: str) -> dict[int, str]:
        """step -> artifact path of the grids a run logged under ``key`` (see :func:`image_steps`)."""
        return image_steps(self.image_artifacts(run_id), key)

    def model(self, run_id: str):
        """``(model, cfg)`` of a trial's best checkpoint, in eval mode on the CPU."""
        key = ("model", run_id)
        if key not in self._cache:
            from analysis.checkpoints import load_model

            self._cache[key] = load_model(run_id, self.record.tracking_uri)
        return self._cache[key]

    def family_data(self, family: str, fixed: dict[str, Any]):
        """A family's own data for the data-choosing config values ``fixed`` (``Family.load_data``), loaded once."""
        key = ("family_data", family, tuple(sorted(fixed.items())))
        if key not in self._cache:
            from trainables.data import default_data_root
            from trainables.families import FAMILIES

            self._cache[key] = FAMILIES[family].load_data(fixed, self.data_root or default_data_root())
        return self._cache[key]

    def dataset(self, name: str):
        """The dataset ``name`` in memory (raises ``DataUnavailable`` with the remedy)."""
        key = ("data", name)
        if key not in self._cache:
            from trainables.data import load_dataset

            self._cache[key] = load_dataset(name, self.data_root)
        return self._cache[key]


# MlflowClient.log_image(key=..., step=...) writes images/<key>+step+<step>+timestamp+<ms>+<uuid>.png (MLflow
# releases before the '+' separator used '%'); records made before genstudy used it hold images/<key>_eNNNN.png,
# and images/recon_before.png for step 0
LOGGED_IMAGE = re.compile(r"^images/(?P<key>[^+%/]+)[+%]step[+%](?P<step>\d+)[+%]timestamp[+%](?P<ms>\d+)[+%][^+%/]+\.png$")
LEGACY_IMAGE = re.compile(r"^images/(?P<key>[^/]+)_e(?P<step>\d+)\.png$")
LEGACY_STEP0 = {"recon": "images/recon_before.png"}


def image_steps(paths: list[str], key: str) -> dict[int, str]:
    """step -> path among a run's image artifacts for ``key``, in either layout (the newest of a
    step logged twice, as a retried report may)."""
    found: dict[int, tuple[int, str]] = {}
    for path in paths:
        m = LOGGED_IMAGE.match(path)
        if m and m["key"] == key.replace("/", "~"):
            step, ms = int(m["step"]), int(m["ms"])
            if step not in found or ms > found[step][0]:
                found[step] = (ms, path)
        elif (m := LEGACY_IMAGE.match(path)) and m["key"] == key:
            found.setdefault(int(m["step"]), (-1, path))
    if key in LEGACY_STEP0 and LEGACY_STEP0[key] in paths:
        found.setdefault(0, (-1, LEGACY_STEP0[key]))
    return {step: path for step, (_, path) in sorted(found.items())}


def read_png(path: Path) -> np.ndarray:
    return plt.imread(str(path))


def split_grid(image: np.ndarray, tile: int, pad: int = 2) -> list[np.ndarray]:
    """The tiles of a torchvision grid PNG (``pad`` pixels around each ``tile`` x ``tile`` image), row by row."""
    rows, cols = (image.shape[0] - pad) // (tile + pad), (image.shape[1] - pad) // (tile + pad)
    step = tile + pad
    return [image[pad + i * step: pad + i * step + tile, pad + j * step: pad + j * step + tile]
            for i in range(rows) for j in range(cols)]


def save_grids_over_training(ctx: Context, run_id: str, stem: str, tile: int, name: str, n: int = 8) -> str | None:
    """The first ``n`` tiles of every grid a run logged under the image key ``stem``, one row per report, saved as
    ``figures/<name>.png`` (its relative path), or None when the run has no such artifacts."""
    found = sorted(ctx.image_steps(run_id, stem).items())
    if not found:
        return None
    rows = [np.concatenate(split_grid(read_png(ctx.artifact(run_id, path)), tile)[:n], axis=1) for _, path in found]
    fig, ax = plt.subplots(figsize=(6, 0.75 * len(rows) + 0.6))
    ax.imshow(np.concatenate(rows, axis=0), interpolation="nearest")
    ax.set_yticks([tile * (i + 0.5) for i in range(len(rows))], [f"report {k}" for k, _ in found], fontsize=8)
    ax.set_xticks([])
    return ctx.save(fig, name)


def image_panel(ax: plt.Axes, image: np.ndarray, title: str) -> None:
    """Show a PNG array (gray or RGB) without axes."""
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def html_table(rows: list[dict], float_format: str = "{:.3f}") -> str:
    """A list of dicts as an HTML table (header from the first row's keys)."""
    import html

    if not rows:
        return "<table></table>"
    keys = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return float_format.format(v)
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
