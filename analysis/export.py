"""``python -m analysis.export STUDY``: best configs, leaderboard, figures and a report from MLflow.

Writes into ``--out`` (default ``analysis_<study>``): ``best_config.yaml``, ``leaderboard.csv``,
``figures/*.png``, the family's extra files (``svm_report.json`` for VAEs) and ``report.html``;
with ``--compare KEY`` also ``compare_KEY.csv`` and its figures; with ``--models DIR`` the best
trial's model as TorchScript files, ``transforms.py`` and ``README.md`` in DIR.

Exit codes: 0 written; 2 bad input (unreachable tracking URI, unknown study, empty experiment,
a run that is not a parent run of the study, a --compare key no trained trial has, an --at-epoch
no compared trial reached), with one line naming the problem and the fix.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from record.errors import Parser

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per tiny file is noise


def build_parser(prog: str = "python -m analysis.export") -> Parser:
    p = Parser(prog=prog, description="Export a study recorded in MLflow: best_config.yaml, "
               "leaderboard.csv, figures and report.html (no retraining; checkpoints are loaded for inference).")
    p.add_argument("study", help="study name (the MLflow experiment)")
    p.add_argument("--tracking-uri", help="MLflow URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    p.add_argument("--out", help="output folder (default ./analysis_STUDY)")
    p.add_argument("--run", dest="run_id", help="parent run id of the invocation to export (default: the newest)")
    p.add_argument("--data-root", help="dataset folder for the figures that need images "
                   "(default $GENSTUDY_DATA_ROOT or ~/.cache/genstudy/data)")
    p.add_argument("--top-k", type=int, default=5, help="trials listed in best_config.yaml (default 5)")
    p.add_argument("--tsne-points", type=int, default=1000, help="test images embedded by t-SNE (default 1000)")
    p.add_argument("--svm-train-size", type=int, default=10_000,
                   help="training images whose latent means train the SVM (default 10000; 0: all)")
    p.add_argument("--compare", metavar="KEY", help="also draw the trials side by side by config key KEY (e.g. beta): "
                   "curves overlaid, reconstructions and samples in one figure, every metric at an equal epoch "
                   "(compare_KEY.csv)")
    p.add_argument("--at-epoch", type=int, metavar="N", help="with --compare: the epoch of the table (default: the "
                   "last epoch every compared trial reached)")
    p.add_argument("--models", metavar="DIR", help="also write the best trial's model as TorchScript files that load "
                   "without genstudy (VAE: vae.pt; GAN: generator.pt, discriminator.pt), transforms.py and README.md")
    p.add_argument("--diffusion-samples", type=int, default=1000,
                   help="DDIM samples for a diffusion model's cherry-picked grid and memorisation check (default 1000)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m analysis.export") -> int:
    args = build_parser(prog).parse_args(argv)
    from analysis.compare import CompareError, compared, equal_epoch
    from analysis.record import RecordError, load

    from record.store import tracking_uri

    for flag, value in (("--top-k", args.top_k), ("--tsne-points", args.tsne_points),
                        ("--diffusion-samples", args.diffusion_samples)):
        if value < 1:
            print(f"analysis.export: error: {flag} must be >= 1, got {value}", file=sys.stderr)
            return 2
    if args.at_epoch is not None and not args.compare:
        print("analysis.export: error: --at-epoch needs --compare KEY; fix: add --compare KEY", file=sys.stderr)
        return 2
    uri = tracking_uri(args.tracking_uri)
    try:
        record = load(args.study, uri, args.run_id)
        if args.compare:  # a key or epoch that cannot be met exits now, before the long steps
            equal_epoch(record, compared(record, args.compare), args.at_epoch)
    except (RecordError, CompareError) as e:
        print(f"analysis.export: error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or f"analysis_{args.study}").expanduser().resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"analysis.export: error: cannot create --out {out}: {e.strerror}; fix: choose a writable folder",
              file=sys.stderr)
        return 2
    export(record, out, args)
    return 0


def export(record, out: Path, args) -> None:
    """Write every file of the export of ``record`` into ``out``."""
    from analysis import best_config, leaderboard, pareto, report
    from analysis.figures import all_sections
    from analysis.figures.common import Context, Options
    from analysis.progress import Progress
    from trainables.data import default_data_root

    start = time.perf_counter()
    progress = Progress(enabled=not args.quiet)
    progress.line(f"{record.study}: parent run {record.parent_run_id}, {len(record.trials)} trials -> {out}")
    df = leaderboard.build(record)
    df.to_csv(out / "leaderboard.csv", index=False)
    try:
        best = best_config.write(record, out / "best_config.yaml", args.top_k)
    except ValueError as e:
        best = None
        progress.line(f"best_config.yaml not written: {e}")
    options = Options(top_k=args.top_k, tsne_points=args.tsne_points, svm_train_size=args.svm_train_size or None,
                      diffusion_samples=args.diffusion_samples)
    data_root = Path(args.data_root).expanduser() if args.data_root else default_data_root()
    ctx = Context(record, out, data_root, options, progress)
    try:
        sections = all_sections(ctx)
        if args.compare:
            from analysis.figures import compare

            sections.append(compare.section(ctx, args.compare, args.at_epoch))
        if args.models:
            from analysis import models

            sections.append(models.section(ctx, Path(args.models).expanduser().resolve()))
    finally:
        ctx.close()
    front = pareto.table(record, best) if record.objectives and best is not None else None
    report.write(out / "report.html", record, sections, report.leaderboard_table(df, record), best, front)
    n_fig = sum(len(s.figures()) for s in sections)
    progress.line(f"wrote {out / 'report.html'} ({n_fig} figures) in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
