"""The scale benchmark's family: trials that train nothing, so what is measured is genstudy's own cost.

Each report sleeps ``sleep_s`` and reports a synthetic validation value that depends on the configuration (a
smooth bowl over the numeric keys, a fixed step per categorical choice) and falls with the report index, plus
seeded noise: TPE has a landscape to model and ASHA trials to tell apart. The checkpoint of each report is its
``config.json`` alone (no weights), and a trial resumes after the report it holds. No torch is imported: a worker
holding a trial stays a plain Ray worker (about 40 MB of its own where one with torch holds about 360 MB), so 64 of
them fit beside the driver on this machine.

The family is outside genstudy's registry: a study names it by this module's path (``benchmarks/scale_study.py``).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from trainables.checkpoint import read_config, report_of
from trainables.config import FlatConfig
from trainables.family import REPORT, Family
from trainables.reporting import Reporter

NAME = __name__  # the family's name is its module path
VAL_SYNTHETIC = "val_synthetic"  # the study's metric: lower is better
TEST_SYNTHETIC = "test_synthetic"  # the same bowl with other noise: reported, never selected on
KINDS = ("a", "b", "c")
NOISE = 0.01  # standard deviation of the noise on each reported value


@dataclass(frozen=True)
class SyntheticConfig(FlatConfig):
    """One synthetic trial: ``max_epochs`` reports of ``sleep_s`` each."""

    seed: int = 0
    x1: float = 0.5
    x2: float = 0.5
    x3: float = 0.5
    rate: float = 1e-3  # searched on a log scale, as learning rates are
    width: int = 16  # builds a width x width linear layer: the parameter count the cap checks
    kind: str = "a"
    max_epochs: int = 4  # reports
    sleep_s: float = 1.0  # seconds each report sleeps

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.max_epochs < 1 or self.sleep_s < 0 or self.width < 1 or self.rate <= 0:
            raise ValueError(f"bad synthetic config: kind in {KINDS}, max_epochs >= 1, sleep_s >= 0, width >= 1, "
                             f"rate > 0; got {self}")


@dataclass(frozen=True)
class NoData:
    """The split contract with nothing in it: one notional row per split."""

    name: str = "synthetic"

    def split_sizes(self) -> dict[str, int]:
        return {"train": 1, "val": 1, "test": 1}

    def digest(self) -> str:
        return "0" * 16


def value(cfg: SyntheticConfig, report: int, split: str) -> float:
    """The synthetic value of ``cfg`` at ``report`` on ``split``: its bowl, plus 0.5/report, plus seeded noise."""
    bowl = (cfg.x1 - 0.3) ** 2 + (cfg.x2 - 0.6) ** 2 + (cfg.x3 - 0.2) ** 2 + 0.05 * math.log10(cfg.rate / 3e-3) ** 2
    bowl += 0.1 * KINDS.index(cfg.kind) + 0.01 * math.log2(cfg.width / 16) ** 2
    return bowl + 0.5 / report + NOISE * _normal(f"{cfg}|{report}|{split}")


def _normal(key: str) -> float:
    """A standard normal draw determined by ``key`` (Box-Muller on two hashed uniforms)."""
    digest = hashlib.sha256(key.encode()).digest()
    u1 = (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 1)
    u2 = int.from_bytes(digest[8:16], "big") / 2**64
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def train(cfg: SyntheticConfig, reporter: Reporter, data: NoData, resume_from: str | None = None,
          assets: Mapping[str, Any] | None = None) -> None:
    start = report_of(read_config(resume_from)) + 1 if resume_from else 1
    for k in range(start, cfg.max_epochs + 1):
        time.sleep(cfg.sleep_s)
        reporter.without_weights(k, {VAL_SYNTHETIC: value(cfg, k, "val"), TEST_SYNTHETIC: value(cfg, k, "test")},
                                 cfg.to_dict())


def build(cfg: SyntheticConfig):
    """A ``width`` x ``width`` linear layer: built only where parameters are counted (the driver)."""
    from torch import nn

    return nn.Linear(cfg.width, cfg.width)


def load_data(fixed: Mapping[str, Any], root: Path) -> NoData:
    return NoData()


FAMILY = Family(NAME, train, build, load_data=load_data, unit=REPORT, config=SyntheticConfig,
                metric_names=(VAL_SYNTHETIC, TEST_SYNTHETIC))
