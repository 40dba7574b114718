"""``analysis.export --models DIR``: the best trial's model as files that load without genstudy.

They are the family's one export (``Family.publish``, the same files the end of a study logs on the
best run): ``torch.export`` programs (``NAME.pt2``, loaded with ``torch.export.load(path).module()``)
and TorchScript files (``NAME.pt``, loaded with ``torch.jit.load``, methods kept), written with
``transforms.py`` (input transforms that need torch only), ``metrics.json`` and a ``README.md`` saying
what goes in and out of each file. For the VAE family: ``encoder``, ``decoder`` and ``vae``; for the
GAN family: ``generator`` (z -> images in [0, 1]) and ``discriminator`` (images in [-1, 1] -> scores).

The files hold the trial's kept checkpoint (its best validation report), in eval mode, on the CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from torch import nn

from analysis.figures.common import Context
from analysis.items import Omitted, Section
from record import schema as S
from trainables.export import Exports
from trainables.export import write as write_exports
from trainables.families import FAMILIES

TRANSFORMS_SOURCE = Path(__file__).with_name("model_transforms.py")


def write(model: nn.Module, cfg, family: str, directory: Path) -> tuple[list[str], Exports]:
    """Write ``family``'s exports of ``model`` and ``transforms.py`` into ``directory``.

    Returns:
        The file names written, and the exports (whose summaries say what each file computes).
    """
    exports = FAMILIES[family].publish(model, cfg, None)
    names = [p.name for p in write_exports(exports, directory)]
    shutil.copyfile(TRANSFORMS_SOURCE, directory / "transforms.py")
    return names + ["transforms.py"], exports


def section(ctx: Context, directory: Path) -> Section:
    """Write the best trial's models into ``directory`` and say how to load them."""
    r = ctx.record
    title = "Models that load without genstudy"
    best = r.best_trial
    if best is None:
        return Section(title, "", [Omitted("Exported models", "no trial has a finite study metric")])
    family = FAMILIES.get(r.family)
    if family is None or family.publish is None:
        return Section(title, "", [Omitted("Exported models", f"the {r.family!r} family exports no model")])
    with ctx.progress.step(f"models: exporting trial {best.trial_id}'s checkpoint into {directory}"):
        model, cfg = ctx.model(best.run_id)
        names, exports = write(model, cfg, r.family, directory)
    at = best.best(r.metric, r.mode)
    logged = {m: best.at(m, at[0]) for m in best.history if m.startswith("test_") and at and best.at(m, at[0]) is not None}
    report = at[0] if at else None
    (directory / "README.md").write_text(readme(exports, best.trial_id, best.run_id, r.unit, report, logged))
    (directory / "metrics.json").write_text(json.dumps({"run_id": best.run_id, S.TRIAL_ID: best.trial_id,
                                                        r.unit: report, "test": logged}, indent=2))
    intro = (f"Written to {directory}: {', '.join(names)}, README.md and metrics.json, from trial {best.trial_id} "
             f"(the best on {r.metric}), its checkpoint of {r.unit} {report if report is not None else '?'}. "
             + " ".join(f"{name}.pt2: {ex.summary}." for name, ex in exports.programs.items()))
    return Section(title, intro, [])


def readme(exports: Exports, trial_id: str, run_id: str, unit: str, report: int | None, logged: dict) -> str:
    """The README.md written beside the models: each file, what goes in and out, and how to load it."""
    numbers = "\n".join(f"- `{k}` = {v:.4f}" for k, v in sorted(logged.items())) or "- (none logged)"
    programs = "\n".join(f"- `{name}.pt2`: {ex.summary}" for name, ex in exports.programs.items())
    scripts = "\n".join(f"- `{name}.pt`: the same module as `{name}.pt2`" for name in exports.scripts)
    first = next(iter(exports.programs))
    loads = "\n".join([f'{first} = torch.export.load("{first}.pt2").module()   # forward only; the batch size is free',
                       *(f'{name}_script = torch.jit.load("{name}.pt")' for name in exports.scripts)])
    return f"""# Models of trial {trial_id} (MLflow run {run_id})

Written by `python -m analysis.export --models`: the same files a study logs on its best run. They load
without genstudy installed, with torch alone.

The weights are the trial's kept checkpoint, {unit} {report} (its best on the validation split). The
test-split numbers MLflow logged at that {unit}:

{numbers}

## Files

`torch.export` programs (`torch.export.load(path).module()(*inputs)`):

{programs}

TorchScript (`torch.jit.load(path)`; its other methods are kept, e.g. `vae.encode`, `vae.decode`):

{scripts or "- (none)"}

```python
import torch
from transforms import to_unit, gan_transform   # images -> [0, 1]; images -> [-1, 1]

{loads}
```

`transforms.py` needs torch only: `vae_transform` / `to_unit` (pixels in [0, 1], channels first),
`gan_transform` (pixels in [-1, 1], what a discriminator scores) and `denorm` ([-1, 1] to [0, 1]).
"""
