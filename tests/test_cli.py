"""The command line without training: --list, --print, and exit code 2 for bad input."""

import json
import subprocess
import sys

import pytest

from search_spaces import STUDIES
from tests.conftest import REPO, run_cli


def test_list_names_every_study():
    p = run_cli("study.run", "--list")
    assert p.returncode == 0
    for name in STUDIES:
        assert name in p.stdout


def test_print_resolves_without_starting_ray(tmp_path):
    code = ("import sys, json; from study.run import main; rc = main(['vae_beta_sweep', '--print', "
            "'--profile', 'quick', '--set', 'beta=2']); assert rc == 0; assert 'ray' not in sys.modules, 'ray imported'")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body["study"] == "vae_beta_sweep" and body["metric"] == "val_nelbo" and body["mode"] == "min"
    assert body["reported_beside"] == "test_nelbo"
    assert body["fixed"]["beta"] == 2.0 and "sqrt(beta)" not in body["space"]
    assert body["param_cap"] == 25_000_000 and body["tracking_uri"] == "sqlite:///mlflow.db"


# Bad invocations refused before anything needs torch, MLflow, Ray or pandas (argparse, flag checks, the study, its
# profile and --set values, checked with the torch-free config classes): each took ~3.5 CPU-s importing them before.
REFUSED_LIGHT = [
    ["vae_beta_sweep", "--bogus"],  # argparse
    ["vae_beta_sweep", "--rank", "2"],  # study.checks.flags
    ["--from-config", "/nonexistent/best_config.yaml"],  # record.config_file
    ["vae_beta_swep"],  # unknown study
    ["vae_beta_sweep", "--profile", "huge"],  # unknown profile
    ["vae_beta_sweep", "--set", "betta=1"],  # unknown --set key
    ["vae_beta_sweep", "--set", "beta=high"],  # wrong type
    ["vae_beta_sweep", "--set", "arch=rnn"],  # the config class refuses the value
    ["vae_beta_sweep", "--num-samples", "0"],
    ["vae_beta_sweep", "--objectives", "test_nelbo,n_params"],  # study.objectives
]
HEAVY = ("torch", "mlflow", "ray", "pandas")


def test_bad_input_decided_before_the_dry_run_imports_no_torch_mlflow_ray_or_pandas():
    code = ("import sys\nfrom study.run import main\n"
            f"for argv in {REFUSED_LIGHT!r}:\n"
            "    try:\n        rc = main(argv)\n    except SystemExit as e:\n        rc = e.code\n"
            "    assert rc == 2, (argv, rc)\n"
            f"    heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "    assert not heavy, f'{argv}: imported {heavy}'\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stderr.count("study.run: error: ") == len(REFUSED_LIGHT), p.stderr  # each refused, with its one line


@pytest.mark.parametrize("args,fragment", [
    (["nope"], "unknown study 'nope'; valid studies: "),
    (["vae_beta_sweep", "--set", "betta=1"], "unknown --set key 'betta'; valid keys:"),
    (["vae_beta_sweep", "--set", "beta=high"], "--set beta=high: expected float"),
    (["vae_beta_sweep", "--set", "arch=rnn"], "arch must be one of"),
    (["vae_beta_sweep", "--profile", "huge"], "unknown profile 'huge'"),
    (["vae_beta_sweep", "--data-root", "/nonexistent/data"], "data root /nonexistent/data is not a readable folder"),
    (["vae_beta_sweep", "--tracking-uri", "./mlruns"], "file store"),
    (["vae_beta_sweep", "--tracking-uri", "sqlite:////nonexistent/dir/m.db"], "does not exist or is not writable"),
    (["vae_beta_sweep", "--tracking-uri", "http://127.0.0.1:9"], "unreachable"),
    (["vae_beta_sweep", "--num-samples", "0"], "--num-samples must be >= 1"),
    (["vae_beta_sweep", "--resume", "--storage-path", "/nonexistent/ray"], "nothing to resume"),
    (["vae_beta", "--resume", "--storage-path", "/nonexistent/ray"], "unknown study 'vae_beta'"),
])
def test_bad_input_exits_2_with_one_line(args, fragment, mnist_root):
    extra = [] if "--data-root" in args else ["--data-root", str(mnist_root)]
    extra += [] if "--profile" in args else ["--profile", "smoke"]
    p = run_cli("study.run", *args, *extra, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert fragment in lines[0]
