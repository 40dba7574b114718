"""Studies defined outside genstudy, added to the registry under the same contract as the built-in ones.

Three ways in, all read by every ``study.run`` / ``genstudy`` invocation:

* ``--studies FILE.py`` (repeatable): a Python file whose ``STUDIES`` is a list of :class:`search_spaces.Study`;
* ``$GENSTUDY_STUDIES``: such files, separated by ``os.pathsep`` (``:`` on Linux);
* an installed package's entry point in the group ``genstudy.studies``, naming such a list, a function
  returning one, or a module with ``STUDIES``.

A study trains a registered family (``trainables.configs.CONFIGS``), or one outside genstudy named by its module
path (a module defining ``FAMILY``, with its ``config``, importable where the trials run): the search space runs in the
driver only, so Ray workers never import the user's file. The contract (as ``tests/test_search_spaces.py``
checks the built-in studies): a new ``<model>_<question>`` name, a known family, a validation metric,
the smoke, quick and full profiles, and in every profile a space whose sampled configs build and make
the same number of reports. Anything else is a UsageError naming the file, the study and the fix.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Iterator, Sequence

from record.errors import UsageError
from search_spaces import STUDIES, Study
from trainables.configs import CONFIGS, config_class

ENV = "GENSTUDY_STUDIES"
GROUP = "genstudy.studies"
PROFILES = ("smoke", "quick", "full")
ORIGINS: dict[str, str] = {}  # study name -> the file or entry point it came from


def load(files: Sequence[str] = ()) -> list[str]:
    """Add the studies of ``files``, of ``$GENSTUDY_STUDIES`` and of the ``genstudy.studies`` entry points.

    Returns:
        The names added by this call (a file already loaded adds nothing again).
    Raises:
        UsageError: a file that is missing or fails to import, or a study that breaks the contract.
    """
    paths = [*files, *filter(None, os.environ.get(ENV, "").split(os.pathsep))]
    added = []
    for path in dict.fromkeys(str(Path(p).expanduser().resolve()) for p in paths):
        added += _register(_studies_of(_import_file(Path(path)), path), Path(path).name)
    for ep in entry_points(group=GROUP):
        origin = f"entry point {ep.name} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - whatever the user's package raises on import
            raise UsageError(f"{origin}: cannot load it ({type(e).__name__}: {e}); fix: reinstall that package "
                             f"or uninstall it") from None
        added += _register(_studies_of(obj, origin), origin)
    return added


@contextmanager
def loaded(files: Sequence[str]) -> Iterator[list[str]]:
    """:func:`load` for the length of a ``with`` block: the registry is as it was before once the block ends (for
    code that resolves a user's study inside a longer-lived process, e.g. a benchmark or a test)."""
    studies, origins = dict(STUDIES), dict(ORIGINS)
    try:
        yield load(files)
    finally:
        STUDIES.clear()
        STUDIES.update(studies)
        ORIGINS.clear()
        ORIGINS.update(origins)


def _import_file(path: Path) -> ModuleType:
    """The module of ``path``, imported once under a name derived from the path (so pickles of its functions,
    e.g. in Tune's saved state, resolve again when the same file is loaded to ``--resume``)."""
    name = f"genstudy_studies_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise UsageError(f"studies file {path} {what}; fix: pass a Python file that defines STUDIES "
                         f"(see examples/my_studies.py), with --studies or ${ENV}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's file may raise anything
        del sys.modules[name]
        raise UsageError(f"studies file {path} failed to import: {type(e).__name__}: {e}; fix: run "
                         f"python {path} to see the error") from None
    return module


def _studies_of(obj: Any, origin: str) -> list[Study]:
    if isinstance(obj, ModuleType):
        obj = getattr(obj, "STUDIES", None)
    elif callable(obj) and not isinstance(obj, (list, tuple)):
        obj = obj()
    if isinstance(obj, dict):
        obj = list(obj.values())
    if not isinstance(obj, (list, tuple)) or not all(isinstance(s, Study) for s in obj):
        raise UsageError(f"{origin}: STUDIES must be a list of search_spaces.Study; fix: define "
                         "STUDIES = [Study(...), ...] (see examples/my_studies.py)")
    return list(obj)


def _register(studies: Iterable[Study], origin: str) -> list[str]:
    from study.resolve import resolve

    added = []
    for s in studies:
        if STUDIES.get(s.name) is s:
            continue
        where = f"{origin}: study {s.name!r}"
        if s.name in STUDIES:
            raise UsageError(f"{where}: the name is taken by {ORIGINS.get(s.name, 'a built-in study')}; "
                             "fix: rename it")
        _check_record(s, where)
        STUDIES[s.name] = s
        try:
            for profile in PROFILES:
                resolve(s.name, profile)  # samples the space and builds every config, as for a built-in study
        except UsageError as e:
            del STUDIES[s.name]
            raise UsageError(f"{where}, profile {profile!r}: {e}") from None
        except Exception as e:  # noqa: BLE001 - a space function may raise anything
            del STUDIES[s.name]
            raise UsageError(f"{where}, profile {profile!r}: the space failed: {type(e).__name__}: {e}") from None
        ORIGINS[s.name] = origin
        added.append(s.name)
    return added


def _check_record(s: Study, where: str) -> None:
    if "_" not in s.name or not s.name.replace("_", "").isalnum():
        raise UsageError(f"{where}: a study is named <model>_<question> (letters, digits, underscores); fix: rename it")
    try:
        config_class(s.family)
    except KeyError as e:
        why = f" ({type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
        raise UsageError(f"{where}: unknown family {s.family!r}{why}; fix: use one of {', '.join(sorted(CONFIGS))}, "
                         "or the import path of a module that defines FAMILY") from None
    missing = [p for p in PROFILES if p not in s.profiles]
    if missing:
        raise UsageError(f"{where}: no {', '.join(missing)} profile; fix: give it profiles {', '.join(PROFILES)}")
