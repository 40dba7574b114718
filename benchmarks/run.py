"""``python -m benchmarks.run [--quick]``: measure and write BENCHMARKS.md.

Every figure is a ratio against a reference measured in the same run on the same machine; times
are medians of several runs with (min–max). ``--quick`` runs each benchmark once on less work, so
the tests can check the harness; its numbers are not the ones to quote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import memory, metric_cost, overhead, scale, search, search_gan, throughput
from benchmarks.stats import machine
from trainables.data import default_data_root

BENCHES = ("throughput", "overhead", "search", "search_gan", "metric_cost", "memory", "scale")
ONLY_NAMED = ("search_gan", "scale")  # ~40 min each on 2 cores: only with --only
BY_DEFAULT = tuple(b for b in BENCHES if b not in ONLY_NAMED)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="each benchmark once, on little work (~3 min)")
    p.add_argument("--out", help="where to write the results (default BENCHMARKS.md; with --quick "
                   "build/BENCHMARKS.quick.md, so a harness check never overwrites what was measured)")
    p.add_argument("--data-root", default=str(default_data_root()), help="folder holding MNIST/raw")
    p.add_argument("--only", choices=BENCHES, action="append", help="run only these (repeatable); "
                   "search_gan and scale run only when named")
    p.add_argument("--threads", type=int, default=2, help="torch threads for the single-process runs")
    p.add_argument("--seeds", type=int, help="search seeds per method (default: search 5, search_gan 3; --quick 1)")
    p.add_argument("--methods", type=_methods, help="search: only these, comma-separated searcher+scheduler, "
                   "e.g. random+asha,tpe+asha (without random+fifo, B is computed from the settings)")
    args = p.parse_args(argv)
    args.out = args.out or ("build/BENCHMARKS.quick.md" if args.quick else "BENCHMARKS.md")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    started = time.perf_counter()
    selected = args.only or BY_DEFAULT
    smoke = tempfile.TemporaryDirectory(prefix="genstudy-bench-")  # the smoke study of memory and metric_cost
    smoke_study: dict = {}
    for name in sorted(selected, key=lambda n: n != "memory"):  # memory's smoke study first: metric_cost reuses it
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        if name == "throughput":
            results[name] = throughput.run(args.data_root, args.quick, args.threads)
        elif name == "overhead":
            results[name] = overhead.run(args.data_root, args.quick, args.threads)
        elif name == "search":
            keep = Path("build") / ("search-quick" if args.quick else "search")
            results[name] = search.run(args.data_root, args.quick, args.seeds, keep=keep, methods=args.methods)
            figure = Path(args.out).parent / "docs" / "benchmark_search.png"
            figure.parent.mkdir(parents=True, exist_ok=True)
            search.figure(results[name], figure)
            results[name]["figure"] = str(figure.relative_to(Path(args.out).parent))
        elif name == "search_gan":
            keep = Path("build") / ("search-gan-quick" if args.quick else "search-gan")
            results[name] = search_gan.run(args.data_root, args.quick, args.seeds, keep=keep)
        elif name == "scale":
            results[name] = scale.run(args.quick, keep=Path("build") / ("scale-quick" if args.quick else "scale"))
        elif name == "metric_cost":
            smoke_study = smoke_study or memory.run(args.data_root, args.quick, Path(smoke.name))
            results[name] = metric_cost.run(args.data_root, args.quick, smoke_study["tracking_uri"])
        else:
            results[name] = smoke_study = memory.run(args.data_root, args.quick, Path(smoke.name))
        print(f"[benchmarks] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    smoke.cleanup()
    command = "python -m benchmarks.run" + (" --quick" if args.quick else "") + \
        "".join(f" --only {n}" for n in args.only or []) + (f" --seeds {args.seeds}" if args.seeds else "") + \
        (" --methods " + ",".join("+".join(m) for m in args.methods) if args.methods else "")
    Path(args.out).write_text(render(results, command, args.quick, time.perf_counter() - started))
    print(f"[benchmarks] wrote {args.out}", file=sys.stderr)
    return 0


def _methods(text: str) -> tuple[tuple[str, str], ...]:
    """``random+asha,tpe+asha`` -> (("random", "asha"), ("tpe", "asha")); an unknown method is an error."""
    from benchmarks.search import METHODS

    methods = tuple(tuple(m.strip().split("+")) for m in text.split(","))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join('+'.join(m) for m in METHODS)}")
    return methods


def render(results: dict, command: str, quick: bool, seconds: float) -> str:
    from benchmarks.report import sections

    head = [
        "# genstudy benchmarks", "",
        f"Measured {dt.datetime.now():%Y-%m-%d %H:%M} on {machine()}.",
        f"Command: `{command}` ({seconds / 60:.1f} min). Times are medians with (min–max) over the runs named.",
    ]
    if quick:
        head.append("**Quick mode:** one run each on reduced work, to keep the harness tested; not figures to quote.")
    analysis = Path(__file__).with_name("ANALYSIS.md")  # written by hand from profiles; not re-measured here
    tail = [analysis.read_text().rstrip()] if analysis.is_file() else []
    return "\n".join(head + [""] + sections(results) + tail) + "\n"


if __name__ == "__main__":
    sys.exit(main())
