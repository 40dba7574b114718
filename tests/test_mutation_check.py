"""The mutation check itself: its mutations still apply to this checkout and name tests that exist, the docs
show its table, and the runner tells killed, survived, timed-out and stale mutations apart (on a toy repo)."""

import importlib.util
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

SPEC = importlib.util.spec_from_file_location("mutation_check", REPO / "scripts" / "mutation_check.py")
check = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = check  # its dataclasses look their module up there
SPEC.loader.exec_module(check)
Mutation = check.Mutation


def test_every_mutation_applies_exactly_once_and_names_tests_that_exist():
    names = [m.name for m in check.MUTATIONS]
    assert len(names) == len(set(names)) >= 40
    for m in check.MUTATIONS:
        text = (REPO / m.file).read_text()
        assert text.count(m.original) == 1, f"{m.name}: stale, {m.file} holds its text {text.count(m.original)} times"
        assert m.replacement != m.original and m.tests and m.feature, m.name
        for test in m.tests:
            path, _, function = test.partition("::")
            assert (REPO / path).is_file(), (m.name, test)
            if function:
                name = re.sub(r"\[.*\]$", "", function)  # a parametrised test's id names its function
                assert f"def {name}(" in (REPO / path).read_text(), (m.name, test)


def test_docs_hold_the_generated_table():
    assert check.table(check.MUTATIONS, markdown=True) in (REPO / "docs" / "mutation_check.md").read_text()


def test_unknown_mutation_name_exits_2_naming_the_fix(capsys):
    with pytest.raises(SystemExit) as e:
        check.main(["--only", "no_such_mutation"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip() == ("mutation_check: unknown mutation(s) no_such_mutation; "
                                               "fix: pick names from --list")


@pytest.fixture
def toy(tmp_path):
    """A git checkout with one function and its test."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text("from pkg.calc import add\n\n\ndef test_add():\n"
                                                      "    assert add(2, 3) == 5\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def test_runner_tells_killed_survived_timed_out_and_stale_apart(toy, capsys):
    tests = ("tests/test_calc.py",)
    mutations = [Mutation("minus", "pkg/calc.py", "return a + b", "return a - b", "addition", tests),
                 Mutation("comment", "pkg/calc.py", "def add(a, b):", "def add(a, b):  # harmless", "nothing", tests),
                 Mutation("slow", "pkg/calc.py", "return a + b", "import time; time.sleep(60); return a + b",
                          "time", tests),
                 Mutation("gone", "pkg/calc.py", "return a * b", "return a / b", "a line no longer there", tests)]
    code = check.run(mutations, toy, jobs=2, timeout=8.0, timeout_kills=False, probe_imports=False)
    out = capsys.readouterr().out
    assert code == 1
    assert "baseline: the selected tests pass unmutated" in out
    lines = {line.split()[1]: line for line in out.splitlines() if line.split()[:1] in (["KILLED"], ["SURVIVED"],
                                                                                         ["STALE"])}
    assert lines["minus"].startswith("KILLED minus (addition)") and "by tests/test_calc.py::test_add" in lines["minus"]
    assert lines["comment"].startswith("SURVIVED comment (nothing)")
    assert lines["slow"].startswith("SURVIVED slow (time)") and "(timeout after 8s)" in lines["slow"]
    assert lines["gone"].startswith("STALE gone") and "occurs 0 times in pkg/calc.py" in lines["gone"]
    assert out.strip().splitlines()[-1].startswith("killed 1 of 4 mutations")
    assert (toy / "pkg" / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"  # the checkout untouched


def test_a_failing_baseline_stops_the_check(toy, capsys):
    (toy / "tests" / "test_calc.py").write_text("def test_broken():\n    assert False\n")
    mutation = Mutation("minus", "pkg/calc.py", "return a + b", "return a - b", "addition", ("tests/test_calc.py",))
    assert check.run([mutation], toy, jobs=1, timeout=30.0, timeout_kills=False, probe_imports=False) == 1
    out = capsys.readouterr().out
    assert "baseline: the selected tests fail without any mutation" in out and "KILLED" not in out


def test_list_prints_every_mutation(capsys):
    assert check.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(m.name in out for m in check.MUTATIONS)
