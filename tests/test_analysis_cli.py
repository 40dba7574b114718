"""Bad input to ``python -m analysis.export`` exits 2 with one line naming the problem and the fix."""

import pytest
from mlflow.tracking import MlflowClient

from analysis.export import main
from tests.conftest import new_sqlite, run_cli


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("analysis.export: error: ") and "fix:" in err, err
    return err


def test_unknown_study_exits_2_in_a_subprocess(tmp_path):
    uri = new_sqlite(tmp_path)
    MlflowClient(uri).create_experiment("vae_beta_sweep")
    p = run_cli("analysis.export", "no_such_study", "--tracking-uri", uri, "--out", str(tmp_path / "out"))
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == [lines[-1]] and "unknown study 'no_such_study'" in lines[-1] and "vae_beta_sweep" in lines[-1]
    assert not (tmp_path / "out").exists()


def test_empty_experiment_exits_2(tmp_path, capsys):
    uri = new_sqlite(tmp_path)
    MlflowClient(uri).create_experiment("vae_beta_sweep")
    capsys.readouterr()
    assert main(["vae_beta_sweep", "--tracking-uri", uri, "--out", str(tmp_path / "out")]) == 2
    assert "no study runs" in _one_line_error(capsys)


@pytest.mark.parametrize("uri,expected", [
    ("sqlite:////nonexistent/folder/m.db", "no MLflow database at"),
    ("http://127.0.0.1:9", "unreachable"),
    ("mlruns", "is not sqlite:///PATH, http(s)://HOST:PORT or a database server's"),
    ("postgresql+psycopg://genstudy:pg-secret@127.0.0.1:9/mlflow", "cannot connect to the database"),
])
def test_unreachable_tracking_uri_exits_2(tmp_path, capsys, uri, expected):
    assert main(["vae_beta_sweep", "--tracking-uri", uri, "--out", str(tmp_path / "out")]) == 2
    error = _one_line_error(capsys)
    assert expected in error and "pg-secret" not in error  # a database URI is read, its password never printed
    assert not (tmp_path / "out").exists()


def test_run_that_is_not_a_parent_exits_2(tmp_path, capsys):
    uri = new_sqlite(tmp_path)
    client = MlflowClient(uri)
    exp = client.create_experiment("vae_beta_sweep")
    child = client.create_run(exp, tags={"trial_id": "x"}).info.run_id
    capsys.readouterr()
    assert main(["vae_beta_sweep", "--tracking-uri", uri, "--run", child]) == 2
    assert "not a parent run" in _one_line_error(capsys)
    assert main(["vae_beta_sweep", "--tracking-uri", uri, "--run", "0" * 32]) == 2
    assert "no run" in _one_line_error(capsys)


def test_bad_flag_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["vae_beta_sweep", "--tsne-points", "many"])
    assert e.value.code == 2

