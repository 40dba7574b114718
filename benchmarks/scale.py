"""``python -m benchmarks.run --only scale``: genstudy's own costs from 100 to 1,000 trials at 8 to 64 at once.

The trials train nothing (:mod:`benchmarks.synthetic`: each report sleeps, then reports a value that depends on the
configuration), so every second above the sleeping is the platform's: the driver, the searcher, the scheduler, the
MLflow writes, the checkpoints' hand-off. They run on a simulated multi-node cluster: ``NODES`` real raylets on this
machine (``ray.cluster_utils.Cluster``), ``CPUS_PER_NODE`` logical CPUs each (the trials sleep, so the 2 real cores
are not what limits them), one storage folder all nodes share. Each cell runs twice, on the same cluster, one after
the other: ``python -m study.run synthetic_scale`` (``benchmarks/scale_study.py``: TPE, ASHA, genstudy's MLflow
record) and bare Ray Tune on the same trials (:mod:`benchmarks.scale_reference`: ``OptunaSearch``,
``ASHAScheduler``, ``MLflowLoggerCallback``), each against a store of its own (``--stores``,
:mod:`benchmarks.scale_stores`: a SQLite file, a loopback ``mlflow server`` over SQLite, or the team set-up: the
basic-auth server over PostgreSQL).

A report sleeps ``C / REPORTS_PER_S`` seconds, so in every cell the trials running at once would together make
``REPORTS_PER_S`` reports a second if nothing else took time: the driver's load per second is the same in every cell,
and the ideal wall time is ``reports made x sleep / C``.

Measured per run: wall time of the driver process (``/usr/bin/time``) and the span from the first trial's start to
the last one's end (MLflow's run times), each against the ideal; the driver's CPU seconds (user + system) per report;
its peak resident memory; the rows it left in the store (metrics, params, tags) per second of wall; for genstudy, what
its MLflow writer queues did (store calls, the peak depth, seconds in the store: the parent run's ``tracking.*``
metrics); where the machine's CPU went meanwhile (:mod:`benchmarks.cpu_share`: the driver, Ray's workers, Ray's
daemons, the store's server) and how many Ray worker processes started. Separately, without Ray, each searcher's
suggest latency by trial number (wall and CPU, medians over 10 suggests from trial 10, 100 and 1,000 on, ``C`` trials
live): genstudy's ``CappedTPESearch`` as the study builds it, and Ray's ``OptunaSearch`` as the reference builds it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from benchmarks import cpu_share, scale_reference, scale_stores, synthetic
from record import schema as S
from benchmarks.suggest import LATENCY_TARGET_S, WINDOW, WINDOW_STARTS

STUDY = "synthetic_scale"
STUDY_FILE = Path(__file__).with_name("scale_study.py")
NODES = 4
CPUS_PER_NODE = 16  # logical CPUs: 64 on the cluster
TRIALS = (100, 300, 1000)
CONCURRENCY = (8, 32, 64)
REPORTS = 4  # reports of a trial that ASHA does not stop
REPORTS_PER_S = 16  # a report sleeps C / REPORTS_PER_S seconds
GRACE_PERIOD, REDUCTION_FACTOR = 1, 2  # ASHA's rungs at reports 1 and 2: both systems
WALL_TARGET = 1.25  # issue 26: at N = 1,000 and C = 64, wall within 1.25x of the ideal
SYSTEMS = ("genstudy", "ray tune")
TRACKING = (S.TRACKING_STORE_CALLS, S.TRACKING_METRIC_VALUES, S.TRACKING_QUEUE_PEAK, S.TRACKING_BUSY_S)
CORES = os.cpu_count() or 1  # the real cores the simulated cluster shares
TIME_FORMAT = "%e %U %S %M"  # wall s, user s, system s, peak RSS KiB


@dataclass(frozen=True)
class Case:
    trials: int
    concurrency: int
    reports: int = REPORTS

    @property
    def sleep_s(self) -> float:
        return self.concurrency / REPORTS_PER_S


@dataclass
class Measured:
    """One run of one system on one case."""

    system: str
    case: Case
    rc: int
    wall_s: float
    cpu_s: float  # the driver process's user + system seconds
    peak_rss_mib: float
    reports: int  # reports made (the metric's rows in the store)
    trials: int  # trials that reported
    span_s: float  # first trial start to last trial end
    store_rows: int  # metrics + params + tags rows
    tracking: dict[str, float] = field(default_factory=dict)  # genstudy: the parent run's tracking.* metrics
    store: str = "sqlite"  # the MLflow store (benchmarks.scale_stores)
    cpu: dict[str, float] = field(default_factory=dict)  # the machine's CPU s while it ran, by whose (cpu_share)
    machine_cpu_s: float = 0.0  # the machine's busy CPU s while it ran (all cores)
    workers_started: int = 0  # Ray worker processes started while it ran

    @property
    def ideal_s(self) -> float:
        return self.reports * self.case.sleep_s / self.case.concurrency

    @property
    def cpu_ms_per_report(self) -> float:
        return 1000 * self.cpu_s / max(1, self.reports)


def cases(quick: bool) -> list[Case]:
    if quick:
        return [Case(12, 4)]
    return [Case(n, c) for n in TRIALS for c in CONCURRENCY]


# --- the cluster ------------------------------------------------------------------------------------------------
class SimulatedCluster:
    """``NODES`` raylets on this machine (``ray.cluster_utils.Cluster``), token authentication off (loopback only),
    their files in a temporary folder of their own; stopped, with every process they started, on exit."""

    def __init__(self, nodes: int = NODES, cpus_per_node: int = CPUS_PER_NODE):
        self.nodes, self.cpus_per_node = nodes, cpus_per_node
        self.temp_dir = tempfile.mkdtemp(prefix="gs-scale-", dir="/tmp")  # short: Unix socket paths under it

    def __enter__(self) -> "SimulatedCluster":
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        from ray.cluster_utils import Cluster

        node = {"num_cpus": self.cpus_per_node, "temp_dir": self.temp_dir, "include_dashboard": False}
        self.cluster = Cluster(initialize_head=True, head_node_args=node)
        for _ in range(self.nodes - 1):
            self.cluster.add_node(**node)
        self.cluster.wait_for_nodes()
        return self

    @property
    def address(self) -> str:
        return self.cluster.address

    def __exit__(self, *exc) -> None:
        self.cluster.shutdown()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


# --- one run ----------------------------------------------------------------------------------------------------
def command(system: str, case: Case, address: str, uri: str, storage: Path, seed: int) -> list[str]:
    if system == "genstudy":
        return [sys.executable, "-m", "study.run", STUDY, "--studies", str(STUDY_FILE), "--profile", "quick",
                "--num-samples", str(case.trials), "--max-concurrent", str(case.concurrency),
                "--max-epochs", str(case.reports), "--set", f"sleep_s={case.sleep_s}", "--address", address,
                "--tracking-uri", uri, "--storage-path", str(storage), "--seed", str(seed), "--confirm", "0",
                "--no-publish"]
    return [sys.executable, "-m", "benchmarks.scale_reference", "--trials", str(case.trials),
            "--concurrency", str(case.concurrency), "--reports", str(case.reports), "--sleep", str(case.sleep_s),
            "--grace-period", str(GRACE_PERIOD), "--reduction-factor", str(REDUCTION_FACTOR), "--address", address,
            "--tracking-uri", uri, "--storage-path", str(storage), "--seed", str(seed)]


def measure(system: str, case: Case, address: str, work: Path, seed: int = 0, store: str = "sqlite") -> Measured:
    folder = work / f"{system.replace(' ', '_')}-{case.trials}x{case.concurrency}-{store}"
    folder.mkdir(parents=True)
    timing, log = folder / "time.txt", folder / "driver.log"
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS")}
    env |= {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    with scale_stores.store(store, folder) as tracked:
        cmd = ["/usr/bin/time", "-f", TIME_FORMAT, "-o", str(timing),
               *command(system, case, address, tracked.uri, folder / "ray", seed)]
        with open(log, "w") as out, cpu_share.Sampler() as sampler:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env | tracked.env,
                                    cwd=Path(__file__).resolve().parent.parent)
            sampler.watch(proc.pid)
            rc = proc.wait()
        left = _left(tracked.query)
    wall, user, sys_s, rss_kib = timing.read_text().split()[-4:]  # "Command exited with ..." may come first
    if rc != 0:
        print(f"[scale] {system} {case} on {store} exited {rc}; its log: {log}", file=sys.stderr, flush=True)
    share = sampler.result
    return Measured(system, case, rc, float(wall), float(user) + float(sys_s), int(rss_kib) / 1024, **left,
                    store=store, cpu=share.seconds, machine_cpu_s=share.machine_s, workers_started=share.workers)


def _left(q: Callable[..., list[tuple]], metric: str = synthetic.VAL_SYNTHETIC) -> dict:
    """What the run left in its store: reports (``metric``'s rows), trials, the trials' span, rows, the tracking.*
    metrics."""
    reports = q("SELECT COUNT(*), COUNT(DISTINCT run_uuid) FROM metrics WHERE key = %s", metric)[0]
    span = q("SELECT MIN(start_time), MAX(end_time) FROM runs WHERE run_uuid IN "
             "(SELECT DISTINCT run_uuid FROM metrics WHERE key = %s)", metric)[0]
    rows = sum(q(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("metrics", "params", "tags"))
    tracking = {k: float(v) for k, v in q("SELECT key, value FROM metrics WHERE key IN (%s, %s, %s, %s)", *TRACKING)}
    return {"reports": reports[0], "trials": reports[1], "span_s": ((span[1] or 0) - (span[0] or 0)) / 1000,
            "store_rows": rows, "tracking": tracking}


# --- suggest latency, without Ray ----------------------------------------------------------------------------------
@dataclass
class Latency:
    system: str
    concurrency: int
    wall_ms: dict[int, float]  # window start -> median wall ms
    cpu_ms: dict[int, float]


def genstudy_searcher(trials: int, concurrency: int, seed: int):
    from study import user_studies
    from study.resolve import resolve
    from study.tuner import make_searcher

    with user_studies.loaded([str(STUDY_FILE)]):  # this process's registry is left as it was (tests import this)
        searcher = make_searcher(resolve(STUDY, "quick", num_samples=trials, seed=seed))
    searcher.set_max_concurrency(concurrency)
    return searcher


def reference_searcher(trials: int, concurrency: int, seed: int):
    searcher = scale_reference.searcher(trials, seed)
    searcher.set_search_properties(synthetic.VAL_SYNTHETIC, "min", scale_reference.space(REPORTS, 0.0, seed))
    return searcher


def suggest_latency(system: str, make: Callable, trials: int, concurrency: int, seed: int = 0) -> Latency:
    """Suggest ``trials`` configurations, ``concurrency`` live, each trial reporting ``REPORTS`` synthetic values
    and completing, oldest first; the medians over ``WINDOW`` suggests from each of ``WINDOW_STARTS`` on."""
    searcher = make(trials, concurrency, seed)
    live: deque[tuple[str, dict]] = deque()
    wall, cpu = [], []
    while len(wall) < trials:
        if len(live) >= concurrency:
            _complete(searcher, *live.popleft())
        trial_id = f"t{len(wall)}"
        c0, w0 = time.process_time(), time.perf_counter()
        config = searcher.suggest(trial_id)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        if not isinstance(config, dict):
            raise RuntimeError(f"{system}'s searcher gave {config!r} at trial {len(wall)} with {len(live)} live")
        live.append((trial_id, config))
    windows = {s: (max(0, min(s, trials - WINDOW)), min(max(0, min(s, trials - WINDOW)) + WINDOW, trials))
               for s in WINDOW_STARTS if s <= trials}
    return Latency(system, concurrency, {s: 1000 * statistics.median(wall[a:b]) for s, (a, b) in windows.items()},
                   {s: 1000 * statistics.median(cpu[a:b]) for s, (a, b) in windows.items()})


def _complete(searcher, trial_id: str, config: dict) -> None:
    cfg = synthetic.SyntheticConfig(**{k: v for k, v in config.items() if k in synthetic.SyntheticConfig.keys()})
    for k in range(1, REPORTS + 1):
        searcher.on_trial_result(trial_id, {synthetic.VAL_SYNTHETIC: synthetic.value(cfg, k, "val"),
                                            "training_iteration": k})
    searcher.on_trial_complete(trial_id, {synthetic.VAL_SYNTHETIC: synthetic.value(cfg, REPORTS, "val"),
                                          "training_iteration": REPORTS})


# --- the benchmark ---------------------------------------------------------------------------------------------
def run(quick: bool, keep: Path | None = None, only: list[Case] | None = None,
        systems: tuple[str, ...] = SYSTEMS, latency: bool = True, stores: tuple[str, ...] = ("sqlite",)) -> dict:
    """Every case on both systems against each of ``stores``, then the suggest latencies (up to the largest N, at
    the largest C); ``keep``: where the runs' folders stay; ``only``: these cases instead of the grid, on ``systems``.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="genstudy-scale-")) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    runs: list[Measured] = []
    started = time.perf_counter()
    with SimulatedCluster(nodes=2 if quick else NODES, cpus_per_node=4 if quick else CPUS_PER_NODE) as cluster:
        for case, store, system in ((c, t, s) for c in only or cases(quick) for t in stores for s in systems):
            runs.append(measure(system, case, cluster.address, work, store=store))
            m = runs[-1]
            print(f"[scale] {system} N={case.trials} C={case.concurrency} on {store}: wall {m.wall_s:.0f} s, ideal "
                  f"{m.ideal_s:.0f} s, {m.reports} reports, driver CPU {m.cpu_ms_per_report:.1f} ms/report",
                  file=sys.stderr, flush=True)
    cluster_s = time.perf_counter() - started
    ran = only or cases(quick)
    n, c = max(x.trials for x in ran), max(x.concurrency for x in ran)
    latencies = [suggest_latency(name, make, n, c) for name, make in
                 (("genstudy", genstudy_searcher), ("ray tune", reference_searcher))] if latency else []
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return {"runs": [_row(m) for m in runs], "latency": [asdict(x) for x in latencies], "quick": quick,
            "cluster": f"{NODES if not quick else 2} nodes x {CPUS_PER_NODE if not quick else 4} logical CPUs",
            "cluster_s": cluster_s}


def _row(m: Measured) -> dict:
    return {**asdict(m), "case": asdict(m.case), "sleep_s": m.case.sleep_s, "ideal_s": m.ideal_s,
            "cpu_ms_per_report": m.cpu_ms_per_report}


def section(r: dict) -> list[str]:
    """BENCHMARKS.md's scale section from :func:`run`'s result."""
    rows = r["runs"]
    out = [
        "## 6. Scale: 100 to 1,000 trials, 8 to 64 at once, genstudy beside bare Ray Tune",
        f"Synthetic trials (`benchmarks/synthetic.py`: each report sleeps C / {REPORTS_PER_S} s, up to {REPORTS} "
        f"reports, ASHA grace {GRACE_PERIOD}, reduction factor {REDUCTION_FACTOR}) on a simulated cluster of "
        f"{r['cluster']} (`ray.cluster_utils.Cluster`, one shared storage folder); MLflow store: `sqlite` a SQLite "
        "file the driver writes, `server` a loopback `mlflow server` over SQLite, `postgres` the team set-up "
        "(basic-auth server over PostgreSQL, `benchmarks/scale_stores.py`); every cell once (seed 0), the two systems "
        "one after the other on the same cluster. Ideal: reports made × sleep / C. Driver CPU: the driver process's "
        "user + system seconds per report. Store rows: metrics, params and tags rows in the store per second of wall.",
        "", *runs_table(rows), "", *cpu_table(rows), "", *latency_table(r["latency"])]
    big = [m for m in rows if m["case"]["trials"] == max(TRIALS) and m["case"]["concurrency"] == max(CONCURRENCY)]
    for m in big:
        verdict = "met" if m["wall_s"] <= WALL_TARGET * m["ideal_s"] else "not met"
        out.append(f"\n{m['system']} at N = 1,000, C = 64 on {m.get('store', 'sqlite')}: wall "
                   f"{m['wall_s'] / m['ideal_s']:.2f}× ideal (target ≤ {WALL_TARGET}×: **{verdict}**).")
    return out


def runs_table(rows: list[dict]) -> list[str]:
    out = ["| N | C | store | system | exit | wall, s | ideal, s | wall / ideal | trials' span / ideal | reports | "
           "driver CPU per report, ms | peak driver RSS, MiB | store rows / s | "
           "writer: calls, peak queue, s in store |",
           "|" + " --- |" * 14]
    for m in rows:
        t, ideal = m["tracking"], max(m["ideal_s"], 1e-9)
        writer = (f"{t.get(S.TRACKING_STORE_CALLS, 0):.0f}, {t.get(S.TRACKING_QUEUE_PEAK, 0):.0f}, "
                  f"{t.get(S.TRACKING_BUSY_S, 0):.1f}") if t else ""
        out.append(f"| {m['case']['trials']} | {m['case']['concurrency']} | {m.get('store', 'sqlite')} | "
                   f"{m['system']} | {m['rc']} | {m['wall_s']:.0f} | {m['ideal_s']:.1f} | {m['wall_s'] / ideal:.2f} | "
                   f"{m['span_s'] / ideal:.2f} | {m['reports']} | {m['cpu_ms_per_report']:.1f} | "
                   f"{m['peak_rss_mib']:.0f} | {m['store_rows'] / max(m['wall_s'], 1e-9):.0f} | {writer} |")
    return out


def cpu_table(rows: list[dict]) -> list[str]:
    out = ["Where the machine's CPU went while each ran (`benchmarks/cpu_share.py`, sampled once a second; busy: the "
           "machine's busy CPU seconds against its cores × wall):", "",
           "| N | C | store | system | busy | " + " | ".join(f"{c}, CPU s" for c in cpu_share.CATEGORIES)
           + " | Ray worker processes started | Ray workers' CPU s per trial |",
           "|" + " --- |" * (7 + len(cpu_share.CATEGORIES))]
    for m in (m for m in rows if m.get("cpu")):
        shares = " | ".join(f"{m['cpu'].get(c, 0):.0f}" for c in cpu_share.CATEGORIES)
        out.append(f"| {m['case']['trials']} | {m['case']['concurrency']} | {m['store']} | {m['system']} | "
                   f"{m['machine_cpu_s'] / (CORES * max(m['wall_s'], 1e-9)):.2f} | {shares} | "
                   f"{m['workers_started']} | {m['cpu'].get('ray workers', 0) / max(1, m['trials']):.2f} |")
    return out


def latency_table(lat: list[dict]) -> list[str]:
    starts = sorted({int(s) for x in lat for s in x["wall_ms"]})
    out = [f"Suggest latency without Ray, {lat[0]['concurrency'] if lat else ''} trials live (ms, median of "
           f"{WINDOW} suggests from that trial on; target at the 1,000th ≤ {1000 * LATENCY_TARGET_S:.0f} ms):", "",
           "| searcher | " + " | ".join(f"wall at {s} | CPU at {s}" for s in starts) + " |",
           "|" + " --- |" * (1 + 2 * len(starts))]
    for x in lat:
        cells = [f"{x['wall_ms'][s]:.1f} | {x['cpu_ms'][s]:.1f}" for s in x["wall_ms"]]
        out.append(f"| {x['system']} | " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.scale --trials 300 --concurrency 32``: chosen cells only, printed (a profiling aid)."""
    import argparse
    import json

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--trials", type=int, nargs="+", default=list(TRIALS))
    p.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--cells", nargs="+", metavar="NxC", help="these N x C cells instead of --trials x --concurrency")
    p.add_argument("--stores", nargs="+", choices=scale_stores.STORES, default=["sqlite"],
                   help="MLflow stores to run each cell against (postgres: the team set-up, needs PostgreSQL)")
    p.add_argument("--no-latency", action="store_true", help="skip the suggest latencies")
    p.add_argument("--keep", type=Path, help="keep each run's folder (driver log, store) here")
    p.add_argument("--out", type=Path, help="write the section here too")
    a = p.parse_args(argv)
    cells = [Case(*map(int, x.split("x"))) for x in a.cells] if a.cells else \
        [Case(n, c) for n in a.trials for c in a.concurrency]
    r = run(False, keep=a.keep, only=cells, systems=tuple(a.systems), latency=not a.no_latency,
            stores=tuple(a.stores))
    if a.out:
        a.out.write_text("\n".join(section(r)) + "\n")
    print("\n".join(section(r)))
    print(json.dumps(r["runs"], indent=1, default=str))


if __name__ == "__main__":
    main()
