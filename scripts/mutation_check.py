"""Mutation check: break the science one line at a time and require the tests to notice.

For each mutation in :mod:`mutations` (``scripts/mutations.py``) the check copies the checkout's files once
(tracked and untracked-but-not-ignored, as ``git ls-files`` lists them) into a temporary folder, replaces the
mutation's text in its file, runs ``python -m pytest -x -q`` on the tests named beside it, and puts the file
back. A mutation is killed when those tests fail; it survives when they pass or run out of time (a timeout
is not a kill). A mutation whose text is not found exactly once is stale: reported as an error, never skipped.

Before the mutations, the union of their tests runs once on the unmutated copy: if that fails, every
"kill" would mean nothing, and the check stops.

Usage::

    python scripts/mutation_check.py                     # every mutation; exit 1 if any survived or was stale
    python scripts/mutation_check.py --only gp_one_sided wgan_sign
    python scripts/mutation_check.py --list [--markdown]  # the table of mutations, features and tests
    python scripts/mutation_check.py --jobs 2             # two copies, two mutations at a time
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import MUTATIONS, Mutation  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA_ENV = "GENSTUDY_TEST_DATA_ROOT"
DEFAULT_TIMEOUT = 180.0  # seconds per mutation; the slowest selection takes well under a minute
PYTEST = ("-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", "-o", "addopts=")
NO_TESTS, USAGE_ERROR, INTERNAL_ERROR = 5, 4, 3  # pytest exit codes that say nothing about the mutation


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    verdict: str  # KILLED | SURVIVED | STALE | ERROR
    seconds: float
    detail: str = ""

    def line(self) -> str:
        m = self.mutation
        extra = f" {self.detail}" if self.detail else ""
        return f"{self.verdict} {m.name} ({m.feature}) {self.seconds:.1f}s{extra}"


def usage_error(message: str) -> SystemExit:
    print(f"mutation_check: {message}", file=sys.stderr)
    return SystemExit(2)


def checkout_files(repo: Path) -> list[str]:
    """The checkout's files as git sees them: tracked plus untracked files that are not ignored."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                         capture_output=True, check=True)
    return sorted({f for f in out.stdout.decode().split("\0") if f and (repo / f).is_file()})


def copy_checkout(repo: Path, files: Sequence[str], dest: Path) -> Path:
    for f in files:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / f, target)
    return dest


def env_for_tests(repo: Path) -> dict[str, str]:
    """The environment pytest runs in: the caller's, with the test data root passed through (the copy has no
    ``../shared/data`` beside it, so the checkout's is named when the variable is unset) and no bytecode
    written (a mutated file of the same size and second as a cached one would otherwise import stale)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if not env.get(DATA_ENV):
        shared = repo.parent / "shared" / "data"
        if (shared / "MNIST").is_dir():
            env[DATA_ENV] = str(shared)
    return env


def check_imports_from(copy: Path, env: dict[str, str]) -> None:
    """The copy's modules, not the checkout's (an editable install could win), are what pytest imports."""
    probe = [sys.executable, "-c", "import trainables, sys; sys.stdout.write(trainables.__file__)"]
    out = subprocess.run(probe, cwd=copy, capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0 or not Path(out.stdout).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"mutation_check: in the copy {copy}, trainables imports from {out.stdout or out.stderr!r}; "
                         "the mutations would not be tested")


def run_pytest(copy: Path, tests: Sequence[str], env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """pytest's exit code (None on timeout) and the tail of its output. On a timeout pytest's whole process
    group is killed (its own session: what the tests started goes with it, nothing else)."""
    with subprocess.Popen([sys.executable, *PYTEST, *tests], cwd=copy, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True) as p:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return None, ""
    return p.returncode, out[-3000:]


def apply(copy: Path, m: Mutation) -> str | None:
    """Write the mutated file; returns its original text, or None when the text is not there exactly once."""
    path = copy / m.file
    if not path.is_file():
        return None
    text = path.read_text()
    if text.count(m.original) != 1:
        return None
    path.write_text(text.replace(m.original, m.replacement))
    return text


def stale_detail(repo: Path, m: Mutation) -> str:
    path = repo / m.file
    if not path.is_file():
        return f"(no file {m.file})"
    return f"(its original text occurs {path.read_text().count(m.original)} times in {m.file}, not once)"


def check_one(copy: Path, m: Mutation, env: dict[str, str], timeout: float, timeout_kills: bool) -> Outcome:
    start = time.perf_counter()
    original = apply(copy, m)
    if original is None:
        return Outcome(m, "STALE", 0.0, stale_detail(copy, m))
    try:
        code, tail = run_pytest(copy, m.tests, env, timeout)
    finally:
        (copy / m.file).write_text(original)
    seconds = time.perf_counter() - start
    if code is None:
        return Outcome(m, "KILLED" if timeout_kills else "SURVIVED", seconds, f"(timeout after {timeout:.0f}s)")
    if code == 0:
        return Outcome(m, "SURVIVED", seconds)
    if code in (NO_TESTS, USAGE_ERROR, INTERNAL_ERROR):
        last = [ln for ln in tail.splitlines() if ln.strip()][-1:] or [""]
        return Outcome(m, "ERROR", seconds, f"(pytest exit {code}: {last[0].strip()})")
    return Outcome(m, "KILLED", seconds, failed_test(tail))


def failed_test(output: str) -> str:
    """``by NODE_ID`` for the first failing test in pytest's short summary (``-rfE``), else empty."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return "by " + line.split(" ", 1)[1].split(" - ", 1)[0].strip()
    return ""


def baseline(copy: Path, mutations: Sequence[Mutation], env: dict[str, str], timeout: float) -> str | None:
    """None when every selected test passes unmutated, else why not."""
    tests = list(dict.fromkeys(t for m in mutations for t in m.tests))
    code, tail = run_pytest(copy, tests, env, timeout)
    if code == 0:
        return None
    return f"timed out after {timeout:.0f}s" if code is None else f"pytest exit {code}:\n{tail}"


def run(mutations: Sequence[Mutation], repo: Path, jobs: int, timeout: float, timeout_kills: bool,
        check_baseline: bool = True, probe_imports: bool = True) -> int:
    """Run the check and print one line per mutation, then ``killed K of N mutations``; returns the exit code."""
    start = time.perf_counter()
    env = env_for_tests(repo)
    files = checkout_files(repo)
    with tempfile.TemporaryDirectory(prefix="genstudy-mutation-") as tmp:
        paths = [copy_checkout(repo, files, Path(tmp) / f"copy{i}") for i in range(max(1, min(jobs, len(mutations))))]
        if probe_imports:
            check_imports_from(paths[0], env)
        if check_baseline:
            failed = baseline(paths[0], mutations, env, timeout * max(1, len(mutations)))
            if failed:
                print(f"baseline: the selected tests fail without any mutation ({failed})")
                return 1
            print(f"baseline: the selected tests pass unmutated ({time.perf_counter() - start:.1f}s)", flush=True)
        copies: Queue[Path] = Queue()
        for path in paths:
            copies.put(path)
        lock = threading.Lock()

        def work(m: Mutation) -> Outcome:
            copy = copies.get()
            try:
                outcome = check_one(copy, m, env, timeout, timeout_kills)
            finally:
                copies.put(copy)
            with lock:
                print(outcome.line(), flush=True)
            return outcome

        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            outcomes = list(pool.map(work, mutations))
    killed = sum(o.verdict == "KILLED" for o in outcomes)
    bad = [o for o in outcomes if o.verdict != "KILLED"]
    for o in bad:
        if o.verdict != "SURVIVED":
            print(f"  {o.verdict.lower()}: {o.mutation.name} {o.detail}")
    print(f"killed {killed} of {len(outcomes)} mutations ({time.perf_counter() - start:.0f}s wall, {jobs} job(s))")
    return 1 if bad else 0


def table(mutations: Sequence[Mutation], markdown: bool) -> str:
    if not markdown:
        return "\n".join(f"{m.name}  [{m.file}]  {m.feature}\n    " + "\n    ".join(m.tests) for m in mutations)
    rows = ["| mutation | file | feature it breaks | tests that must catch it |", "|---|---|---|---|"]
    for m in mutations:
        tests = "<br>".join(f"`{t}`" for t in m.tests)
        rows.append(f"| `{m.name}` | `{m.file}` | {m.feature} | {tests} |")
    return "\n".join(rows)


def select(names: Sequence[str] | None) -> list[Mutation]:
    known = {m.name: m for m in MUTATIONS}
    if len(known) != len(MUTATIONS):
        raise SystemExit("mutation_check: two mutations share a name in scripts/mutations.py")
    if not names:
        return list(MUTATIONS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise usage_error(f"unknown mutation(s) {', '.join(unknown)}; fix: pick names from --list")
    return [known[n] for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutations only")
    parser.add_argument("--list", action="store_true", help="print the mutations, their features and tests")
    parser.add_argument("--markdown", action="store_true", help="with --list: a Markdown table")
    parser.add_argument("--jobs", type=int, default=1, help="mutations checked at once, one copy each (default 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per mutation's tests")
    parser.add_argument("--timeout-kills", action="store_true", help="count a timeout as killed (default: survived)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the selected tests")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        raise usage_error(f"--jobs must be >= 1, got {args.jobs}; fix: e.g. --jobs 2")
    if args.timeout <= 0:
        raise usage_error(f"--timeout must be > 0, got {args.timeout}; fix: e.g. --timeout 180")
    mutations = select(args.only)
    if args.list:
        print(table(mutations, args.markdown))
        return 0
    return run(mutations, REPO, args.jobs, args.timeout, args.timeout_kills, check_baseline=not args.no_baseline)


if __name__ == "__main__":
    sys.exit(main())
