"""The ``best_config.yaml`` format: ``analysis.export`` writes it, ``study.run --from-config`` reads it.

The ``best.config`` mapping (and each ``top_k[i].config``) is a trial's complete, flat config: the same
keys as ``--set`` and the MLflow params, seed included, so a rerun needs nothing from the search space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FORMAT_VERSION = 1


class ConfigFileError(Exception):
    """A best_config.yaml that cannot be read; ``str(e)`` is one line with the fix."""


def write(doc: dict[str, Any], path: str | Path) -> None:
    """Write the document (``format_version``, ``study``, ``family``, ``best``, ``top_k`` ...) as YAML."""
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False, width=120))


def read(path: str | Path, rank: int = 1) -> tuple[str, str, dict[str, Any]]:
    """``(study, family, config)`` of the trial ranked ``rank`` in a best_config.yaml.

    ``config`` is the flat config dict the family's config class accepts (``VAEConfig(**config)``).

    Raises:
        ConfigFileError: unreadable file, not a best_config.yaml, or no trial of that rank.
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigFileError(f"cannot read {p}: {e}; fix: pass the best_config.yaml written by "
                              "python -m analysis.export") from None
    if not isinstance(doc, dict) or not {"study", "family", "best"} <= set(doc):
        raise ConfigFileError(f"{p} is not a best_config.yaml (no study/family/best); fix: pass the file "
                              "written by python -m analysis.export")
    entries = [doc["best"], *doc.get("top_k", [])]
    entry = next((e for e in entries if e.get("rank") == rank), None)
    if entry is None or not isinstance(entry.get("config"), dict):
        ranks = sorted({e.get("rank") for e in entries if isinstance(e, dict)})
        raise ConfigFileError(f"{p} has no trial of rank {rank}; ranks present: {ranks}")
    return doc["study"], doc["family"], dict(entry["config"])
