"""Bad input to ``python -m study.run`` (docs/bad_input.md), tried as a new user would: the real command in a
subprocess, a fresh Ray temp folder (RAY_TMPDIR) and a fresh SQLite tracking URI per case.

Every case must exit 2 in seconds with exactly one line on stderr naming the problem and its fix, and leave no
MLflow run RUNNING. A case checked before Ray must also start no Ray (no session folder under its RAY_TMPDIR)
and create no MLflow database: MLflow announces a new one on stderr ("Creating initial MLflow database
tables..."), which would be a second line.

A tracking server that needs credentials, TLS settings, ``--resume`` of a finished run and a remote cluster
without GPUs are tests/test_bad_input_services.py's. The cases here run two at a time (0.3-3 s of CPU
each: ~0.3 s for one refused before resolving the study imports torch to count parameters, ~2 s after it, 1.5-2.5 s
for a tracking URI that MLflow's registry or a server is asked about), once per module, for the tests selected;
each test then checks its own case's outcome.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.bad_input_cli import WALL_BOUND_S, Case, Outcome, closed_port, one_line, run_case, running_runs
from tests.conftest import REPO

WORKERS = 2
GOOD_CONFIG = {"dataset": "mnist", "seed": 3, "lr": 0.002, "batch_size": 128, "max_epochs": 1, "arch": "mlp",
               "depth": 1, "width": 64, "latent_dim": 8, "batchnorm": False, "dropout": 0.0, "beta": 1.5,
               "beta_schedule": "constant", "warmup_epochs": 0, "likelihood": "bernoulli", "deterministic": False,
               "train_size": 500, "image_every": 2}


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def _torch_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def _cpus() -> int:
    from ray._private.utils import get_num_cpus

    return get_num_cpus(override_docker_cpu_warning=True)


GPUS_ASKED = _torch_gpus() + 1  # one more than this machine has: 1 on a machine without a GPU
CASES = {
    # argparse
    "unknown-flag": Case(("vae_beta_sweep", "--bogus"), "unrecognized arguments: --bogus"),
    "int-flag-not-int": Case(("vae_beta_sweep", "--num-samples", "ten"), "invalid int value: 'ten'"),
    "unknown-searcher": Case(("vae_beta_sweep", "--searcher", "bayes"), "invalid choice: 'bayes'"),
    # the study and its resolution
    "no-study": Case((), "no study named"),
    "unknown-study": Case(("vae_beta_swep",), "did you mean 'vae_beta_sweep'"),
    "unknown-profile": Case(("vae_beta_sweep", "--profile", "huge"), "unknown profile 'huge'"),
    "set-unknown-key": Case(("vae_beta_sweep", "--set", "betta=1"), "unknown --set key 'betta'"),
    "set-not-key-value": Case(("vae_beta_sweep", "--set", "beta"), "is not KEY=VALUE"),
    "set-wrong-type": Case(("vae_beta_sweep", "--set", "beta=high"), "--set beta=high: expected float"),
    "set-invalid-value": Case(("vae_beta_sweep", "--set", "arch=rnn"), "arch must be one of"),
    "set-list-without-grid": Case(("vae_beta_sweep", "--set", "beta=0.5,1"), "add --searcher grid"),
    "grid-without-grid": Case(("vae_beta_sweep", "--searcher", "grid"), "has no grid"),
    "num-samples-with-grid": Case(("vae_beta_grid", "--num-samples", "3"), "a grid trains each of its"),
    "num-samples-0": Case(("vae_beta_sweep", "--num-samples", "0"), "--num-samples must be >= 1"),
    "max-epochs-0": Case(("vae_beta_sweep", "--max-epochs", "0"), "--max-epochs must be >= 1, got 0"),
    "max-concurrent-0": Case(("vae_beta_sweep", "--max-concurrent", "0"), "--max-concurrent must be >= 1"),
    "confirm-negative": Case(("vae_beta_sweep", "--confirm", "-1"), "--confirm must be >= 0"),
    "seed-negative": Case(("vae_beta_sweep", "--seed", "-1"), "seed -1 is out of range"),
    "set-seed-negative": Case(("vae_beta_sweep", "--set", "seed=-5"), "seed -5 is out of range"),
    # several objectives (study/objectives.py)
    "objectives-one": Case(("vae_beta_sweep", "--objectives", "val_nelbo"), "names fewer than two objectives"),
    "objectives-twice": Case(("vae_beta_sweep", "--objectives", "val_nelbo,val_nelbo"), "lists val_nelbo twice"),
    "objectives-test-metric": Case(("vae_beta_sweep", "--objectives", "test_nelbo,n_params"),
                                   "test_nelbo is a test-split metric"),
    "objectives-unknown": Case(("vae_beta_sweep", "--objectives", "val_nelbo,val_sharpness"),
                               "unknown objective 'val_sharpness' for vae_beta_sweep; valid: n_params, val_nelbo"),
    "objectives-size-first": Case(("vae_beta_sweep", "--objectives", "n_params,val_nelbo"),
                                  "put a validation metric first"),
    "objectives-with-grid": Case(("vae_beta_grid", "--objectives", "val_nelbo,n_params"),
                                 "--objectives with --searcher grid"),
    "objectives-with-pbt": Case(("gan_loss_sweep", "--objectives", "val_fid,n_params", "--scheduler", "pbt"),
                                "--objectives with --scheduler pbt"),
    "objectives-with-confirm": Case(("vae_beta_sweep", "--objectives", "val_nelbo,n_params", "--confirm", "1"),
                                    "--confirm 1 with --objectives"),
    "objectives-with-from-config": Case(("--from-config", "{inputs}/good.yaml", "--objectives", "val_nelbo,n_params"),
                                        "which has no Pareto front"),
    "param-cap-under-every-config": Case(("vae_beta_sweep", "--param-cap", "10"),
                                         "over the 10-parameter cap (the smallest has"),
    # resources
    "cpus-negative": Case(("vae_beta_sweep", "--cpus-per-trial", "-1"), "--cpus-per-trial must be > 0, got -1"),
    "cpus-zero": Case(("vae_beta_sweep", "--cpus-per-trial", "0"), "--cpus-per-trial must be > 0, got 0"),
    "cpus-more-than-machine": Case(("vae_beta_sweep", "--cpus-per-trial", "4096"),
                                   "a trial asks for 4096 CPUs and this machine has"),
    "gpus-negative": Case(("vae_beta_sweep", "--gpus-per-trial", "-1"), "--gpus-per-trial must be >= 0, got -1"),
    "gpus-more-than-machine": Case(("vae_beta_sweep", "--gpus-per-trial", str(GPUS_ASKED)),
                                   f"--gpus-per-trial {GPUS_ASKED}: "),
    "profile-cpus-more-than-machine": Case(("ddpm_image_sweep", "--profile", "full"),
                                           "a trial asks for 4 CPUs and this machine has"),
    # the Ray address
    "address-refused": Case(("vae_beta_sweep", "--address", "127.0.0.1:{closed_port}"), "nothing accepts connections"),
    "address-ray-client-refused": Case(("vae_beta_sweep", "--address", "ray://127.0.0.1:{closed_port}"),
                                       "nothing accepts connections"),
    "address-auto-without-cluster": Case(("vae_beta_sweep", "--address", "auto"), "no Ray cluster started with"),
    "address-malformed": Case(("vae_beta_sweep", "--address", "headnode"), "is not an address"),
    # data and storage
    "data-root-missing": Case(("vae_beta_sweep", "--data-root", "/nonexistent/data"), "is not a readable folder"),
    "storage-unknown-scheme": Case(("vae_beta_sweep", "--storage-path", "foo://bar"),
                                   "Unrecognized filesystem type in URI"),
    "storage-under-a-file": Case(("vae_beta_sweep", "--storage-path", "{inputs}/a_file/ray"),
                                 "is a file, not a folder"),
    "resume-unknown-scheme": Case(("vae_beta_sweep", "--resume", "--storage-path", "foo://bar"),
                                  "Unrecognized filesystem type in URI"),
    "resume-storage-is-a-file": Case(("vae_beta_sweep", "--resume", "--storage-path", "{inputs}/a_file"),
                                     "cannot list --storage-path"),
    "resume-nothing": Case(("vae_beta_sweep", "--resume", "--storage-path", "{inputs}/empty"), "nothing to resume"),
    "resume-unknown-study": Case(("vae_beta", "--resume", "--storage-path", "{inputs}/empty"),
                                 "unknown study 'vae_beta'"),
    # the tracking store
    "tracking-file-store": Case(("vae_beta_sweep", "--tracking-uri", "./mlruns"), "file store"),
    "tracking-not-a-uri": Case(("vae_beta_sweep", "--tracking-uri", "mlflow.db"), "is not a URI"),
    "tracking-unknown-scheme": Case(("vae_beta_sweep", "--tracking-uri", "mongodb://127.0.0.1/x"),
                                    "MLflow has no tracking store for that scheme"),
    "tracking-sqlite-folder-missing": Case(("vae_beta_sweep", "--tracking-uri", "sqlite:////nonexistent/dir/m.db"),
                                           "does not exist or is not writable"),
    "tracking-sqlite-not-a-database": Case(("vae_beta_sweep", "--tracking-uri", "sqlite:///{inputs}/a_file"),
                                           "is not a SQLite database"),
    "tracking-http-unreachable": Case(("vae_beta_sweep", "--tracking-uri", "http://127.0.0.1:{closed_port}"),
                                      "is unreachable (Connection refused)"),
    "tracking-postgres-no-driver": Case(("vae_beta_sweep", "--tracking-uri", "postgresql://u:secret@127.0.0.1/mlflow"),
                                        "fix: pip install 'genstudy[postgres]'",
                                        env={"PYTHONPATH": "{inputs}/without_psycopg"}),
    "tracking-postgres-unreachable": Case(("vae_beta_sweep", "--tracking-uri",
                                           "postgresql://u:secret@127.0.0.1:{closed_port}/mlflow"),
                                          "cannot connect to the database"),
    "tracking-mysql-no-driver": Case(("vae_beta_sweep", "--tracking-uri", "mysql://u@127.0.0.1/mlflow"),
                                     "pip install mysqlclient"),
    # files the user names
    "studies-folder": Case(("vae_beta_sweep", "--studies", "{inputs}/empty"), "is a folder, not a file"),
    "studies-missing": Case(("vae_beta_sweep", "--studies", "{inputs}/nope.py"), "does not exist"),
    "studies-syntax-error": Case(("vae_beta_sweep", "--studies", "{inputs}/broken.py"),
                                 "failed to import: SyntaxError"),
    "from-config-binary": Case(("--from-config", "{inputs}/binary.yaml"), "is not a text file"),
    "from-config-not-a-document": Case(("--from-config", "{inputs}/best3.yaml"), "is not a best_config.yaml"),
    "from-config-bad-yaml": Case(("--from-config", "{inputs}/bad.yaml"), "is not valid YAML at line"),
    "from-config-missing": Case(("--from-config", "{inputs}/nope.yaml"), "cannot read"),
    "from-config-rank-absent": Case(("--from-config", "{inputs}/good.yaml", "--rank", "5"), "has no trial of rank 5"),
    "from-config-other-study": Case(("ae_latent_sweep", "--from-config", "{inputs}/good.yaml"),
                                    "is a config of 'vae_beta_sweep', not 'ae_latent_sweep'"),
    "from-config-with-resume": Case(("--from-config", "{inputs}/good.yaml", "--resume"), "drop one of them"),
    "register-with-no-publish": Case(("vae_beta_sweep", "--register", "m", "--no-publish"), "publishes none"),
    "rank-without-from-config": Case(("vae_beta_sweep", "--rank", "2"), "--rank picks one of the configurations"),
    # population-based training
    "pbt-without-mutations": Case(("ae_latent_sweep", "--scheduler", "pbt"), "and ae_latent_sweep declares none"),
    "pbt-mutations-all-fixed": Case(("vae_beta_sweep", "--scheduler", "pbt", "--set", "beta=1", "--set", "lr=0.001"),
                                    "has them all fixed with --set"),
    "pbt-with-tpe": Case(("gan_loss_sweep", "--scheduler", "pbt", "--searcher", "tpe"), "drop --searcher tpe"),
    "pb2-with-tpe": Case(("gan_loss_sweep", "--scheduler", "pb2", "--searcher", "tpe"),
                         "--scheduler pb2 draws its population at random"),
    "pbt-with-confirm": Case(("vae_beta_sweep", "--scheduler", "pbt", "--confirm", "2"), "fix: --confirm 0"),
}
SKIPS = {
    "profile-cpus-more-than-machine": (_cpus() >= 4, "this machine has 4 CPUs or more"),
    "tracking-postgres-unreachable": (_missing("psycopg"), "no psycopg: pip install 'genstudy[postgres]'"),
    "tracking-mysql-no-driver": (not _missing("MySQLdb"), "MySQLdb is installed"),
}


def _params():
    for name in CASES:
        skip, why = SKIPS.get(name, (False, ""))
        yield pytest.param(name, id=name, marks=pytest.mark.skipif(skip, reason=why))


def _inputs(folder: Path) -> Path:
    """The files the cases name."""
    (folder / "empty").mkdir()
    (folder / "a_file").write_text("not a folder, not a database\n")
    (folder / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (folder / "best3.yaml").write_text("best: 3\n")
    (folder / "bad.yaml").write_text("study: vae_beta_sweep\nbest: [1, 2\n")
    (folder / "broken.py").write_text("STUDIES = [\n")
    (folder / "good.yaml").write_text(yaml.safe_dump({"format_version": 1, "study": "vae_beta_sweep", "family": "vae",
                                                      "best": {"rank": 1, "config": GOOD_CONFIG}, "top_k": []}))
    shim = folder / "without_psycopg" / "psycopg"  # first on PYTHONPATH: psycopg as if not installed
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n")
    return folder


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory, mnist_root) -> dict[str, Outcome]:
    """Every selected case, run :data:`WORKERS` at a time."""
    mine = [item for item in request.session.items if item.module.__name__ == __name__ and hasattr(item, "callspec")]
    selected = [item.callspec.params["name"] for item in mine if "name" in item.callspec.params]
    inputs = _inputs(tmp_path_factory.mktemp("inputs"))
    root = tmp_path_factory.mktemp("cases")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {name: pool.submit(run_case, CASES[name], root / name, inputs, mnist_root) for name in selected}
        done = {name: f.result() for name, f in futures.items()}
    for name, o in sorted(done.items(), key=lambda kv: -kv[1].seconds):
        print(f"{o.seconds:5.1f} s  {name}")
    return done


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(_params()))
def test_bad_input_exits_2_with_one_line_naming_the_fix(name, outcomes):
    case, o = CASES[name], outcomes[name]
    assert o.code == 2, o.stderr[-3000:]
    line = one_line(o.stderr)
    assert line.startswith("study.run: error: ") and "fix" in line, line
    assert case.expect in line, line
    assert "secret" not in line  # a password in a database URI is not echoed
    assert running_runs(o.folder / "m.db") == 0
    assert o.ray_sessions == [], "Ray started"  # every case here is checked before Ray
    assert not (o.folder / "m.db").exists(), "MLflow created its database"
    assert o.seconds < WALL_BOUND_S, f"{o.seconds:.1f} s"


def test_the_auto_address_file_is_the_one_ray_reads(monkeypatch, tmp_path):
    from ray._common.utils import get_ray_address_file

    from study import checks

    for env in ({"RAY_TMPDIR": str(tmp_path)}, {"TMPDIR": str(tmp_path / "t")}, {}):
        for key in ("RAY_TMPDIR", "TMPDIR"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert checks._address_file() == get_ray_address_file(None)


def test_an_address_from_the_environment_or_a_stale_cluster_file_is_named(monkeypatch, tmp_path):
    from record.errors import UsageError
    from study import checks

    port = closed_port()
    with pytest.raises(UsageError, match=rf"^RAY_ADDRESS=127.0.0.1:{port}: nothing accepts connections"):
        checks.address(f"127.0.0.1:{port}", from_env=True)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{port}\n")  # left by a cluster since stopped
    with pytest.raises(UsageError, match=rf"--address auto \(the cluster in .*, 127.0.0.1:{port}\): nothing accepts"):
        checks.address("auto", from_env=False)


def test_a_cluster_short_of_cpus_ends_the_run_before_refusing():
    from types import SimpleNamespace

    from record.errors import UsageError
    from study import checks
    from study.resolve import resolve

    r = resolve("vae_beta_sweep", "smoke")
    ended = []
    args = SimpleNamespace(cpus_per_trial=2.0, gpus_per_trial=None)
    checks.cluster_fits({"CPU": 2.0}, args, r, on_refuse=lambda: ended.append(1))  # fits: nothing happens
    assert ended == []
    with pytest.raises(UsageError, match="a trial asks for 2 CPUs and the Ray cluster has 1; fix: lower --cpus"):
        checks.cluster_fits({"CPU": 1.0, "GPU": 4.0}, args, r, on_refuse=lambda: ended.append(1))
    assert ended == [1]


@pytest.mark.parametrize("args", [("--tracking-uri", "mlflow.db"), ("--tracking-uri", "sqlite:////nonexistent/m.db"),
                                  ("--storage-path", "foo://bar"), ("--address", "headnode")])
def test_a_bad_place_is_refused_before_resolving_the_study_imports_torch(args, tmp_path, mnist_root):
    code = "import sys; from study.run import main; code = main(sys.argv[1:]); print(code, 'torch' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code, "vae_beta_sweep", "--data-root", str(mnist_root), *args],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert p.stdout.split() == ["2", "False"], p.stdout + p.stderr[-2000:]
