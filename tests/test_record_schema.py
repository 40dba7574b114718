"""The record has one owner: ``analysis/`` imports nothing of ``study/`` or ``search_spaces/``, every name of
the MLflow record is spelled out only in ``record/schema.py``, and adding a family touches one registry line
in each of trainables, search spaces and analysis."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from record import schema as S
from tests.conftest import REPO

SOURCE_DIRS = ("record", "study", "analysis", "trainables", "search_spaces", "benchmarks", "genstudy")
# Record names that are ordinary words of other namespaces too: config keys and CLI flags (max_epochs, searcher,
# ...), keys of --print's JSON and of best_config.yaml, genstudy.json's keys. Those may be spelled out elsewhere,
# only never where MLflow is read or written (MLFLOW_CONTEXTS below).
SHARED_WORDS = {S.STUDY, S.PROFILE, S.FAMILY, S.UNIT, S.METRIC, S.MODE, S.TEST_METRIC, S.NUM_SAMPLES, S.MAX_EPOCHS,
                S.MAX_CONCURRENT, S.PARAM_CAP, S.SEARCHER, S.SCHEDULER, S.GRACE_PERIOD, S.REDUCTION_FACTOR, S.SEARCH,
                S.CONFIRM, S.CONFIRM_SEEDS, S.ERROR, S.FAILED, S.FINISHED, S.MODEL_PARENT_RUN_ID, S.OBJECTIVES}
MLFLOW_WRITES = {"set_tag", "set_tags", "log_param", "log_params", "log_metric", "log_metrics", "set_experiment_tag"}
MLFLOW_MAPPINGS = {"tags", "params", "metrics"}  # run.data.<these>


def _sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py"))


def _names() -> dict[str, str]:
    """value -> constant name of every string constant of record.schema."""
    return {v: k for k, v in vars(S).items() if k.isupper() and isinstance(v, str)}


def _literals(tree: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _mlflow_context_literals(tree: ast.AST) -> list[ast.Constant]:
    """String literals used as a key of run.data.tags/params/metrics, or as the name in an MLflow write."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr in MLFLOW_MAPPINGS:
            found.append(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if node.func.attr == "get" and isinstance(target, ast.Attribute) and target.attr in MLFLOW_MAPPINGS:
                found += node.args[:1]
            elif node.func.attr in MLFLOW_WRITES:
                found += node.args[:2]
    return [n for n in found if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_analysis_imports_nothing_from_study_or_search_spaces():
    pattern = re.compile(r"^\s*(from|import) (study|search_spaces)\b", re.M)
    offenders = [f"{p.relative_to(REPO)}:{m.group(0).strip()}" for p in (REPO / "analysis").rglob("*")
                 if p.suffix in (".py", ".ipynb") for m in pattern.finditer(p.read_text().replace('\\n"', "\n"))]
    assert offenders == []


def test_the_record_package_imports_nothing_above_it():
    pattern = re.compile(r"^\s*(from|import) (study|search_spaces|analysis|benchmarks|genstudy)\b", re.M)
    assert [p.name for p in (REPO / "record").rglob("*.py") if pattern.search(p.read_text())] == []


def test_each_record_name_is_spelled_out_once():
    names = _names()
    distinctive = {v for v in names if v not in SHARED_WORDS}
    elsewhere, in_mlflow_calls = [], []
    for path in _sources():
        if path == REPO / "record" / "schema.py":
            continue
        tree = ast.parse(path.read_text())
        rel = path.relative_to(REPO)
        elsewhere += [f"{rel}:{n.lineno} {n.value!r} (record.schema.{names[n.value]})" for n in _literals(tree)
                      if n.value in distinctive]
        in_mlflow_calls += [f"{rel}:{n.lineno} {n.value!r}" for n in _mlflow_context_literals(tree)]
    assert elsewhere == [], "use the record.schema constant"
    assert in_mlflow_calls == [], "MLflow names come from record.schema (or trainables.metric_names)"


def test_the_parent_run_tag_is_mlflows_own():
    """record.schema spells MLflow's parent-run tag out (importing MLflow for it took seconds); it must stay MLflow's."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    assert S.PARENT_RUN_ID == MLFLOW_PARENT_RUN_ID


def test_the_schema_check_sees_a_name_spelled_out(tmp_path):
    """The check above is not vacuous: it flags a literal tag name and a literal in an MLflow call."""
    tree = ast.parse('run.data.tags.get("status")\nclient.set_tag(run_id, "epochs_run", "3")\nx = "stopped_by"')
    assert {n.value for n in _mlflow_context_literals(tree)} == {"status", "epochs_run"}
    assert "stopped_by" in {n.value for n in _literals(tree)} and "stopped_by" not in SHARED_WORDS


def _registry_lines(path: Path) -> list[str]:
    """The entries of a registry's ``MODULES = (...)``: one quoted module name per line."""
    block = re.search(r"^MODULES = \(.*?\n\)", path.read_text(), re.S | re.M).group(0)
    lines = block.splitlines()[1:-1]
    assert all(re.fullmatch(r'\s+"\w+",', line) for line in lines), lines  # one entry, one line
    return [line.strip().strip('",') for line in lines]


@pytest.mark.parametrize("registry, folder, registered", [
    ("trainables/families/__init__.py", "trainables/families", "trainables.families:FAMILIES"),
    ("analysis/families.py", "analysis/figures", "analysis.families:ANALYSES"),
    ("search_spaces/__init__.py", "search_spaces", "search_spaces:STUDIES"),
])
def test_adding_a_family_is_one_registry_line_each(registry, folder, registered):
    """docs: "Adding a family" says a family adds its own files and one line to each of these three registries."""
    from importlib import import_module

    entries = _registry_lines(REPO / registry)
    assert len(entries) == len(set(entries)) and all((REPO / folder / f"{m}.py").is_file() for m in entries)
    module, name = registered.split(":")
    table = getattr(import_module(module), name)
    if name == "STUDIES":  # every study module is registered, and every study comes from one
        files = {p.stem for p in (REPO / folder).glob("*.py")} - {"__init__", "study"}
        assert sorted(entries) == sorted(files)
        assert {s.family for s in table.values()} == set(import_module("trainables.families").FAMILIES)
    else:  # a family's name is its module's name, in both registries, and it has a config in trainables.configs
        assert entries == list(table) == list(import_module("trainables.families").FAMILIES)
        assert list(import_module("trainables.configs").CONFIGS) == entries
