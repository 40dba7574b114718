"""The VAE family's likelihood at the end of a study, and how its numbers are named wherever they are shown.

:func:`final_metrics` is the family's ``Family.final_metrics``: when a study ends, the driver restores the
best trial's kept checkpoint (and each confirmation run's) and this estimates its negative log-likelihood on
the validation and test splits by importance sampling (:mod:`trainables.iwae`, Burda et al. 2016):
``val_nll_iw`` / ``test_nll_iw`` with their standard errors ``*_nll_iw_se`` over images, from ``nll_iw_k``
samples per image (a config key, so a param of every run; 5000, the paper's, by default) on ``nll_iw_images``
images per split (a fixed random subset, the same for every trial; None: the whole split).

It is computed only where it is a likelihood: a stochastic VAE with the Bernoulli decoder on binarised
pixels (``binarize=dynamic`` or ``static``). On grey levels (``binarize=none``, the default) the Bernoulli
cross-entropy is not a probability of anything and nothing is estimated; the ``*_nelbo`` shown for such a
study is then labelled :data:`GREY_NELBO_NOTE` (:func:`nelbo_note`).

Our number is shown beside the IWAE paper's Table 1 row for the model it matches (a VAE with one stochastic
layer trained with k = 1: ``trainables.iwae.IWAE_TABLE1``), labelled as the paper's, never in place of ours.
Table 1 is dynamically binarised MNIST scored with k = 5000 on the whole test set: a study on another
dataset gets no paper row, and one whose setting differs says how.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from trainables import metric_names as M
from trainables.data import ImageData
from trainables.data.binarize import binarize_eval
from trainables.device import pick_device
from trainables.images import uint8_to_float
from trainables.iwae import IWAE_TABLE1, IWAE_TABLE1_SOURCE, estimate_nll, subset_indices
from trainables.vae_config import DEFAULT_K

# A perfect reconstruction's Bernoulli cross-entropy on grey MNIST: the sum over pixels of each pixel's binary
# entropy, mean over the 10,000 test images (45.93 over the validation split); measured with
# trainables.data.load_dataset("mnist") at commit 69415b1, as issue 23 measured at 1188309 (45.54).
GREY_NELBO_FLOOR = 45.53
GREY_NELBO_NOTE = (f"a Bernoulli cross-entropy bound on grey-level pixels, not a likelihood (binarize=none: a "
                   f"perfect reconstruction scores {GREY_NELBO_FLOOR} nats on the MNIST test set)")
PAPER_ROW = ("VAE", 1, 1)  # Table 1's row for our model: one stochastic layer, one sample per training step


def _value(config: Mapping[str, Any], key: str, default: Any) -> Any:
    """A config value as a trial's dataclass holds it or as MLflow's params hold it (a string)."""
    value = config.get(key, default)
    return value if not isinstance(value, str) else {"True": True, "False": False, "None": None}.get(value, value)


def is_likelihood(config: Mapping[str, Any]) -> bool:
    """The config's Bernoulli decoder defines a probability: binarised pixels and a stochastic encoder."""
    return (_value(config, "likelihood", None) == "bernoulli" and _value(config, "binarize", "none") != "none"
            and not _value(config, "deterministic", False))


def grey_bce(config: Mapping[str, Any]) -> bool:
    """A Bernoulli decoder on grey levels: what its ``*_nelbo`` holds is not a log-likelihood. Records made
    before ``binarize`` existed have no such key: they trained on grey levels."""
    return _value(config, "likelihood", None) == "bernoulli" and _value(config, "binarize", "none") == "none"


def nelbo_note(metric: str, config: Mapping[str, Any]) -> str | None:
    """:data:`GREY_NELBO_NOTE` for a ``*_nelbo`` metric of a grey-level config, else None."""
    return GREY_NELBO_NOTE if metric.endswith("_nelbo") and grey_bce(config) else None


@torch.no_grad()
def final_metrics(model, cfg, data: ImageData) -> dict[str, float]:
    """``val_nll_iw``, ``test_nll_iw`` and their standard errors for a trained model; {} where the estimate
    is not a likelihood (see the module's docstring).

    Args:
        model: the VAE restored from the kept checkpoint.
        cfg: its ``VAEConfig`` (binarize, likelihood, nll_iw_k, nll_iw_images, seed).
        data: the study's data; the splits are binarised exactly as the trials saw them.
    """
    if not is_likelihood(cfg.to_dict()):
        return {}
    device = pick_device()
    model = model.to(device)
    out = {}
    for split, (nll_name, se_name) in M.NLL_IW_SPLIT_METRICS.items():
        grey = torch.from_numpy(np.array(data.x_val if split == "val" else data.x_test))
        images = binarize_eval(grey[subset_indices(len(grey), cfg.nll_iw_images)], cfg.binarize, split)
        _, result = estimate_nll(model, uint8_to_float(images).to(device), cfg.likelihood, k=cfg.nll_iw_k,
                                 seed=cfg.seed)
        out[nll_name], out[se_name] = result.nll, result.stderr
    return out


def nll_text(metrics: Mapping[str, float], config: Mapping[str, Any], split: str = "test") -> str | None:
    """``test_nll_iw = 88.12 ± 0.41 nats (k=5000, 500 random test images ...)`` with, for the test split, the
    paper's row beside it; None when ``metrics`` hold no estimate for ``split``."""
    nll_name, se_name = M.NLL_IW_SPLIT_METRICS[split]
    if nll_name not in metrics:
        return None
    k = int(_value(config, "nll_iw_k", DEFAULT_K))
    images = _value(config, "nll_iw_images", None)
    scored = f"{int(images)} random {split} images" if images is not None else f"the whole {split} split"
    text = (f"{nll_name} = {metrics[nll_name]:.2f} ± {metrics.get(se_name, float('nan')):.2f} nats (k={k}, {scored}; "
            "importance-weighted, Burda et al. 2016)")
    paper = paper_text(config) if split == "test" else None  # the paper's number is a test-set NLL
    return text if paper is None else f"{text}; beside it, {paper}"


def paper_text(config: Mapping[str, Any]) -> str | None:
    """The paper's Table 1 row for our model, labelled as the paper's, with how our setting differs from it;
    None for a dataset other than MNIST."""
    if _value(config, "dataset", "mnist") != "mnist":
        return None
    model, layers, k = PAPER_ROW
    differs = []
    if _value(config, "binarize", "none") != "dynamic":
        differs.append(f"ours is binarize={_value(config, 'binarize', 'none')}, the paper's dynamic")
    if int(_value(config, "nll_iw_k", DEFAULT_K)) != DEFAULT_K:
        differs.append(f"the paper scores with k={DEFAULT_K}")
    if _value(config, "nll_iw_images", None) is not None:
        differs.append("the paper scores the whole test set")
    note = f" ({'; '.join(differs)})" if differs else ""
    return (f"the paper's {model} ({layers} stochastic layer, k={k} in training) test NLL: "
            f"{IWAE_TABLE1[PAPER_ROW]} nats [{IWAE_TABLE1_SOURCE}]{note}")
