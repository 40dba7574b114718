"""Studies defined outside the package: a file (--studies, $GENSTUDY_STUDIES) or an entry point, checked by the
built-in studies' contract, listed, and run end to end with the smoke profile (acceptance 4)."""

import shutil
import sys
from types import SimpleNamespace

import pytest
from mlflow.tracking import MlflowClient

from record.errors import UsageError
from search_spaces import STUDIES
from study import user_studies
from study.report import list_studies
from tests.conftest import REPO, new_sqlite, run_cli

EXAMPLE = REPO / "examples" / "my_studies.py"
STUDY_FILE = """
from search_spaces import Profile, Study
from search_spaces.vae import VAE_PROFILES

def space(p):
    return {{"latent_dim": p.int("latent_dim", 2, 8), "width": {width}}}

STUDIES = [Study(name={name!r}, description="a test study", family={family!r}, metric={metric!r}, mode="min",
                 space=space, profiles={profiles}, fixed={{"dataset": "synthetic", "arch": "mlp"}})]
"""


def _write(tmp_path, name="vae_tiny_test", family="vae", metric="val_nelbo", profiles="VAE_PROFILES", width="64"):
    path = tmp_path / f"{name}.py"
    path.write_text(STUDY_FILE.format(name=name, family=family, metric=metric, profiles=profiles, width=width))
    return path


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Every test starts and ends with the built-in registry only."""
    before, modules = dict(STUDIES), set(sys.modules)
    monkeypatch.delenv(user_studies.ENV, raising=False)
    yield
    STUDIES.clear()
    STUDIES.update(before)
    user_studies.ORIGINS.clear()
    for name in set(sys.modules) - modules:
        if name.startswith("genstudy_studies_"):
            del sys.modules[name]


def test_example_file_adds_its_study_and_list_names_the_file():
    assert user_studies.load([str(EXAMPLE)]) == ["vae_small_code"]
    assert STUDIES["vae_small_code"].family == "vae"
    line = next(ln for ln in list_studies().splitlines() if ln.startswith("vae_small_code"))
    assert "val_nelbo (min)" in line and line.endswith("[from my_studies.py]")
    assert user_studies.load([str(EXAMPLE)]) == []  # the same file again adds nothing and raises nothing


def test_environment_variable_names_files(monkeypatch, tmp_path):
    other = _write(tmp_path, name="vae_env_test")
    monkeypatch.setenv(user_studies.ENV, f"{EXAMPLE}:{other}")
    assert sorted(user_studies.load()) == ["vae_env_test", "vae_small_code"]


@pytest.mark.parametrize("kwargs,message", [
    ({"metric": "test_nelbo"}, "failed to import: ValueError: .*validation metric"),
    ({"family": "flow"}, "unknown family 'flow'; fix: use one of cyclevae, dann, dann_moons, ddpm, gan, vae"),
    ({"profiles": "{'smoke': VAE_PROFILES['smoke']}"}, "no quick, full profile"),
    ({"name": "vae_beta_sweep"}, "the name is taken by a built-in study"),
    ({"name": "tiny"}, "named <model>_<question>"),
    ({"width": "0"}, "profile 'smoke': vae_tiny_test: invalid configuration: depth, width and latent_dim must be >= 1"),
])
def test_a_study_that_breaks_the_contract_is_refused_with_the_reason(tmp_path, kwargs, message):
    path, built_in = _write(tmp_path, **kwargs), set(STUDIES)
    with pytest.raises(UsageError, match=message):
        user_studies.load([str(path)])
    assert set(STUDIES) == built_in  # nothing half-registered


def test_missing_file_and_file_without_studies(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        user_studies.load([str(tmp_path / "nope.py")])
    (tmp_path / "empty.py").write_text("X = 1\n")
    with pytest.raises(UsageError, match="STUDIES must be a list of search_spaces.Study"):
        user_studies.load([str(tmp_path / "empty.py")])


def test_entry_point_group_adds_studies(monkeypatch, tmp_path):
    module = user_studies._import_file(_write(tmp_path, name="vae_plugin_test"))
    point = SimpleNamespace(name="myplugin", value="mypkg.studies:STUDIES", load=lambda: module.STUDIES)
    monkeypatch.setattr(user_studies, "entry_points", lambda group: [point] if group == "genstudy.studies" else [])
    assert user_studies.load() == ["vae_plugin_test"]
    assert "[from entry point myplugin (mypkg.studies:STUDIES)]" in list_studies()


def test_cli_list_and_bad_file_exit_codes(tmp_path):
    p = run_cli("study.run", "--list", "--studies", str(EXAMPLE))
    assert p.returncode == 0 and "vae_small_code" in p.stdout and "vae_beta_sweep" in p.stdout
    bad = _write(tmp_path, family="flow")
    p = run_cli("study.run", "--list", "--studies", str(bad))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "unknown family 'flow'" in p.stderr


@pytest.mark.e2e
def test_a_study_from_a_file_outside_the_package_runs_with_the_smoke_profile(tmp_path, mnist_root):
    """Acceptance 4: the user's file, in a folder of its own, through the genstudy command."""
    mine = tmp_path / "elsewhere"
    mine.mkdir()
    shutil.copy(EXAMPLE, mine / "my_studies.py")
    uri = new_sqlite(tmp_path)
    p = run_cli("genstudy", "list", "--studies", "my_studies.py", cwd=mine)
    assert p.returncode == 0 and "vae_small_code" in p.stdout, p.stderr
    p = run_cli("genstudy", "run", "vae_small_code", "--profile", "smoke", "--studies", "my_studies.py",
                "--data-root", str(mnist_root), "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"), "--no-publish",
                cwd=mine)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "best trial" in p.stdout and "(chosen on val_nelbo)" in p.stdout
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("vae_small_code").experiment_id])
    children = [r for r in runs if "trial_id" in r.data.tags]
    assert len(children) == 3
    assert all(r.data.params["arch"] == "mlp" and r.data.params["beta"] == "1.0" for r in children)
    assert all(r.info.run_name.startswith("trial-") and " latent=" in r.info.run_name for r in children)
