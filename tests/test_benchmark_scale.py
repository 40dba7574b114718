"""The scale benchmark's smallest case (issue 26): a two-node simulated cluster, 12 synthetic trials 4 at once
through ``python -m study.run`` and through bare Ray Tune, the suggest latencies, and the section it writes."""

from __future__ import annotations

import psutil
import pytest

from benchmarks import scale
from record import schema as S

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    before = {p.pid for p in psutil.process_iter()}
    r = scale.run(quick=True, keep=tmp_path_factory.mktemp("scale"))
    left = [p for p in psutil.process_iter(["cmdline"]) if p.pid not in before
            and any("gs-scale-" in part for part in (p.info["cmdline"] or []))]
    assert not left, f"processes of the simulated cluster still alive: {[p.pid for p in left]}"
    return r


def test_both_systems_ran_every_trial_and_reported_what_they_cost(result):
    runs = {m["system"]: m for m in result["runs"]}
    assert set(runs) == set(scale.SYSTEMS)
    for m in runs.values():
        case = m["case"]
        assert m["rc"] == 0
        assert m["trials"] == case["trials"]  # every trial reported, through MLflow
        assert case["trials"] <= m["reports"] <= case["trials"] * case["reports"]
        assert m["wall_s"] > m["ideal_s"] > 0 and m["cpu_s"] > 0 and m["peak_rss_mib"] > 50 and m["store_rows"] > 0
        # where the machine's CPU went: the driver and the Ray workers it started used some, none is unaccounted
        assert m["cpu"]["driver"] > 0 and m["cpu"]["ray workers"] > 0
        assert 0 < sum(m["cpu"].values()) <= 1.2 * m["machine_cpu_s"]
    writer = runs["genstudy"]["tracking"]  # genstudy's writer queues, from its parent run
    assert writer[S.TRACKING_METRIC_VALUES] >= runs["genstudy"]["reports"] and writer[S.TRACKING_STORE_CALLS] > 0
    assert not runs["ray tune"]["tracking"]


def test_suggest_latency_is_measured_for_both_searchers_at_each_window_reached(result):
    assert [x["system"] for x in result["latency"]] == list(scale.SYSTEMS)
    for x in result["latency"]:
        assert set(x["wall_ms"]) == {10} and x["wall_ms"][10] > 0 and x["cpu_ms"][10] > 0


def test_the_section_has_a_row_per_run_and_the_latency_table(result):
    text = "\n".join(scale.section(result))
    assert text.count("| 12 | 4 | sqlite | genstudy | 0 |") == 1 and text.count("| 12 | 4 | sqlite | ray tune | 0 |") == 1
    assert "| genstudy | " in text and "| ray tune | " in text
    assert text.count("| 12 | 4 | sqlite | genstudy | ") == 2  # the run's row and its CPU row
