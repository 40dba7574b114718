"""The docs stay true: the site builds in strict mode, every command shown runs, the README stays a front door,
and every family's page renders the module where its departures from the paper are written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO
from tests.docs_commands import runnable, shown

README_LIMIT = 12_000  # characters (issue 25): the front door; the rest lives in docs/
# Commands the docs show that cannot run with --print here, each with why. The test fails when one is no
# longer shown (a stale entry), so the list only ever names commands a reader can see.
SKIPPED = {
    # --resume looks for an earlier run of the study before --print; tests/test_signals.py, test_faults.py and
    # test_storage.py resume real runs
    ("study.run", "vae_beta_sweep", "--resume"): "needs an interrupted run",
    ("study.run", "vae_beta_sweep", "--resume", "--storage-path", "s3://bucket/ray_results"):
        "needs an interrupted run in a bucket",
}


def test_the_site_builds_strictly(tmp_path):
    """Broken links, anchors, pages left out of the nav and mkdocstrings references that do not resolve fail."""
    site = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(REPO / "mkdocs.yml"),
                        "--site-dir", str(site)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert p.returncode == 0, p.stderr[-4000:]
    home = (site / "index.html").read_text()
    assert 'href="running/"' in home and "vae_beta_sweep" in home  # README.md, its links made the site's
    dann = (site / "families" / "dann" / "index.html").read_text()
    assert "Departures from the paper (section 5.2)" in dann  # rendered from trainables/dann.py's docstring
    assert ":class:<code>" not in dann and "reverse validation" in dann
    measured = (site / "measured" / "index.html").read_text()
    assert "Training throughput" in measured and 'src="../benchmark_search.png"' in measured  # BENCHMARKS.md


def test_every_command_shown_runs_with_print(tmp_path):
    """``genstudy ...`` / ``python -m study.run ...`` with --print, other ``python -m`` commands with --help:
    each exits 0. Run in one process (tests/docs_commands.py), each distinct command once."""
    commands = shown()
    assert len(commands) >= 20, sorted(commands)  # the parser still finds them
    assert {("genstudy", "list"), ("study.run", "gan_loss_sweep", "--profile", "smoke", "--print")} <= set(commands)
    stale = set(SKIPPED) - set(commands)
    assert not stale, f"SKIPPED names commands no page shows any more: {stale}"
    run = [argv for argv in commands if argv not in SKIPPED]
    todo = tmp_path / "commands.json"
    todo.write_text(json.dumps([runnable(argv, str(tmp_path)) for argv in run]))
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "RAY_ADDRESS", "GENSTUDY_STUDIES")}
    p = subprocess.run([sys.executable, "-m", "tests.docs_commands", str(todo)], cwd=REPO, capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-4000:]
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(run), p.stderr[-4000:]
    failed = [f"{' '.join(r['argv'])} (shown in {', '.join(commands[argv])}): exit {r['code']}\n{r['output']}"
              for argv, r in zip(run, results) if r["code"] != 0]
    assert not failed, "\n\n".join(failed)


def test_the_readme_is_a_front_door():
    text = (REPO / "README.md").read_text()
    assert len(text) <= README_LIMIT, f"README.md has {len(text):,} characters; move detail into docs/"
    quick_start = text[text.index("## Quick start"):text.index("## Studies")]
    assert "make demo" in quick_start and "make test" in quick_start


def test_every_family_page_renders_its_training_loop_module():
    """A family's departures from its paper live in its module docstring; its page renders that module."""
    from trainables.families import FAMILIES

    pages = "\n".join(p.read_text() for p in (REPO / "docs" / "families").glob("*.md"))
    missing = [name for name, family in FAMILIES.items() if f"::: {family.train.__module__}\n" not in pages]
    assert not missing, f"no page under docs/families renders the training loop of: {missing}"
