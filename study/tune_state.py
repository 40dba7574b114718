"""A last complete copy of Tune's experiment state, for a disk that fills while Tune writes it.

Tune writes its experiment state (``experiment_state-*.json``, the searcher's and the callbacks' states)
by copying new files over the old ones; a disk that fills during that copy leaves them truncated, and
``Tuner.restore`` then starts the experiment afresh: the trials it knew are lost. genstudy keeps a copy
of the last complete set in ``.genstudy_tune_state`` beside them (refreshed at most every
``BACKUP_EVERY_S`` while trials report), and puts it back before a resume when the current set does
not read. Local storage paths only (an object store replaces a file whole or not at all).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

BACKUP = ".genstudy_tune_state"
BACKUP_EVERY_S = 10.0
JSON_GLOBS = ("experiment_state-*.json",)
PICKLE_GLOBS = ("search_gen_state-*.json", "searcher-state-*.pkl", "callback-states-*.pkl", "tuner.pkl")  # sic: a pickle
TEXT_FILES = ("optuna_journal.log",)  # genstudy's searcher writes it beside them


def _files(folder: Path) -> list[Path]:
    found = [p for g in (*JSON_GLOBS, *PICKLE_GLOBS) for p in folder.glob(g)]
    return found + [folder / name for name in TEXT_FILES if (folder / name).is_file()]


def readable(folder: str | Path) -> bool:
    """The state files in ``folder`` are whole: the JSON ones parse, the pickles end with pickle's STOP."""
    folder = Path(folder)
    if not any(folder.glob(JSON_GLOBS[0])):
        return False
    try:
        for pattern in JSON_GLOBS:
            for path in folder.glob(pattern):
                json.loads(path.read_text(encoding="utf-8"))
        for pattern in PICKLE_GLOBS:
            for path in folder.glob(pattern):
                if not _whole_pickle(path.read_bytes()):
                    return False
    except (OSError, ValueError):
        return False
    return True


def _whole_pickle(data: bytes) -> bool:
    """A pickle ends with its STOP opcode; genstudy's searcher writes JSON under the same name."""
    if data[-1:] == b".":
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def backup(folder: str | Path) -> bool:
    """Copy a whole state set of ``folder`` into its backup (each file to a temporary name, then renamed,
    so a backup is never half written); returns whether one was made."""
    folder = Path(folder)
    if not readable(folder):
        return False
    target = folder / BACKUP
    try:
        target.mkdir(exist_ok=True)
        for path in _files(folder):
            tmp = target / f".{path.name}.tmp"
            shutil.copyfile(path, tmp)
            os.replace(tmp, target / path.name)
    except OSError:  # a full disk: the previous backup stands
        return False
    return True


def repair(folder: str | Path) -> bool:
    """Put the backup back when ``folder``'s state does not read and the backup does; returns whether it did."""
    folder = Path(folder)
    if readable(folder) or not readable(folder / BACKUP):
        return False
    for path in _files(folder):
        path.unlink()
    for path in _files(folder / BACKUP):
        shutil.copyfile(path, folder / path.name)
    return True
