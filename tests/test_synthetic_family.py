"""The scale benchmark's family (benchmarks/synthetic.py), and what lets 64 of its trials run at once: a family
outside the registry named by its module path, and trial workers that import only their own family's code (no torch
for this one)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from benchmarks import synthetic
from record.errors import UsageError
from search_spaces import STUDIES
from study import user_studies
from study.resolve import resolve
from tests.conftest import REPO
from trainables.checkpoint import CONFIG_FILE, MODEL_FILE, read_config
from trainables.configs import config_class
from trainables.families import FAMILIES

FAMILY = FAMILIES[synthetic.NAME]
FAST = synthetic.SyntheticConfig(max_epochs=4, sleep_s=0.0, x1=0.1, kind="b")


def _fit(cfg, workdir, resume_from=None):
    reports = []
    FAMILY.fit(cfg, lambda metrics, folder: reports.append((metrics, folder)), synthetic.NoData(),
               resume_from=resume_from, workdir=str(workdir))
    return reports


def test_a_fit_reports_each_report_with_both_splits_and_a_weightless_checkpoint(tmp_path):
    reports = _fit(FAST, tmp_path)
    assert len(reports) == FAMILY.n_reports(FAST) == 4
    for k, (metrics, folder) in enumerate(reports, 1):
        assert set(metrics) == {synthetic.VAL_SYNTHETIC, synthetic.TEST_SYNTHETIC}
        meta = read_config(folder)
        assert meta["report"] == k and meta["family"] == synthetic.NAME and meta["config"] == FAST.to_dict()
        assert (tmp_path / f"report_{k:04d}" / CONFIG_FILE).is_file()
        assert not (tmp_path / f"report_{k:04d}" / MODEL_FILE).exists()
    vals = [m[synthetic.VAL_SYNTHETIC] for m, _ in reports]
    assert vals[0] > vals[-1]  # 0.5 / report falls faster than the noise moves it


def test_a_fit_resumed_after_report_2_reports_what_the_whole_fit_reports(tmp_path):
    whole = _fit(FAST, tmp_path / "whole")
    rest = _fit(FAST, tmp_path / "rest", resume_from=whole[1][1])
    assert [m for m, _ in rest] == [m for m, _ in whole[2:]]


def test_the_value_depends_on_the_configuration_and_only_the_split_changes_the_noise():
    near, far = synthetic.SyntheticConfig(x1=0.3, x2=0.6, x3=0.2), synthetic.SyntheticConfig(x1=1.0, x2=0.0, x3=1.0)
    assert synthetic.value(near, 4, "val") + 1.0 < synthetic.value(far, 4, "val")
    assert synthetic.value(near, 4, "val") == synthetic.value(near, 4, "val")
    assert synthetic.value(near, 4, "val") != synthetic.value(near, 4, "test")
    assert abs(synthetic.value(near, 4, "val") - synthetic.value(near, 4, "test")) < 10 * synthetic.NOISE


def test_its_study_file_registers_a_study_whose_family_is_the_module_path():
    with user_studies.loaded([str(REPO / "benchmarks" / "scale_study.py")]) as added:
        assert added == ["synthetic_scale"]
        r = resolve("synthetic_scale", "smoke")
        assert r.family is FAMILY and r.config_cls is synthetic.SyntheticConfig
        assert config_class(synthetic.NAME) is synthetic.SyntheticConfig
    assert "synthetic_scale" not in STUDIES and "synthetic_scale" not in user_studies.ORIGINS


def test_a_family_path_that_does_not_import_is_refused_by_name(tmp_path):
    path = tmp_path / "bad_family.py"
    path.write_text(textwrap.dedent("""
        from benchmarks.scale_study import PROFILES, space
        from search_spaces import Study
        STUDIES = [Study(name="bad_family", description="", family="no.such.module", metric="val_synthetic",
                         mode="min", space=space, profiles=PROFILES)]
    """))
    with pytest.raises(UsageError, match="unknown family 'no.such.module'.*import path of a module that defines FAMILY"):
        user_studies.load([str(path)])
    assert "bad_family" not in STUDIES


@pytest.mark.parametrize("family, loaded, not_loaded", [
    (synthetic.NAME, (), ("torch", "trainables.families.vae")),  # a synthetic trial's worker: plain Ray, no torch
    ("dann_moons", ("torch", "trainables.families.dann_moons"), ("trainables.families.gan", "trainables.families.ddpm")),
])
def test_a_trial_worker_imports_its_own_family_and_no_other(family, loaded, not_loaded):
    """What a Ray worker running ``study.trainable.run_trial`` imports before the family trains (a fresh process)."""
    code = textwrap.dedent(f"""
        import sys
        import study.trainable
        from trainables.families import FAMILIES
        FAMILIES[{family!r}].make_config({{}})
        print(",".join(sorted(m for m in {list(loaded) + list(not_loaded)!r} if m in sys.modules)))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(out.stdout.strip().split(",")) - {""} == set(loaded)
