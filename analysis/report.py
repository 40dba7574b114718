"""``report.html``: every figure and table of an export with its caption, one self-contained page.

Images are referenced by relative paths (``figures/*.png``) so the export folder can be moved or
zipped and opened offline; the page loads nothing from the network and runs no script.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pandas as pd

from analysis.items import Figure, Omitted, Section, Table
from analysis.leaderboard import confirmed_estimates, final_metric_names
from analysis.record import StudyRecord, best_nll_text, column_header, nelbo_caption
from record import config_file, store
from record import schema as S

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption, .caption { font-size: 0.9em; color: #444; margin-top: 0.4em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; } th { background: #f3f3f3; }
.scroll { overflow-x: auto; } .omitted { color: #8a4b00; } code { background: #f5f5f5; padding: 0 2px; }
"""
LEADERBOARD_SHOWN = 12  # parameter columns shown in the page; the CSV has them all


def inline(text: str) -> str:
    """Plain text as HTML: everything escaped (config values, names and ids come from users), then
    each `backticked` span set as code."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def _item_html(item) -> str:
    if isinstance(item, Figure):
        return (f'<figure><img src="{html.escape(item.path)}" alt="{html.escape(item.title)}">'
                f"<figcaption><b>{html.escape(item.title)}.</b> {html.escape(item.caption)} "
                f"<i>File: {html.escape(item.path)}</i></figcaption></figure>")
    if isinstance(item, Table):
        link = f' <i>File: <a href="{html.escape(item.path)}">{html.escape(item.path)}</a></i>' if item.path else ""
        return (f"<h3>{html.escape(item.title)}</h3><div class=\"scroll\">{item.html}</div>"
                f'<p class="caption">{html.escape(item.caption)}{link}</p>')
    if isinstance(item, Omitted):
        return f'<p class="omitted"><b>{html.escape(item.title)}: not drawn.</b> {html.escape(item.reason)}</p>'
    raise TypeError(f"unknown report item {item!r}")


def leaderboard_table(df: pd.DataFrame, record: StudyRecord) -> Table:
    """The leaderboard for the page: ids, status, budget, metric columns and the searched parameters."""
    keep = [c for c in df.columns if c in ("rank", S.TRIAL_ID, "status_detail", S.REPORTS_RUN, "n_params", S.ERROR)
            or c.startswith((f"{record.metric}", f"{record.test_metric}_", "rank@", "confirmed_rank"))]
    keep += final_metric_names(record)
    keep += [f"{n}_confirm_{stat}" for n in confirmed_estimates(record) for stat in ("mean", "sd")]
    keep += [k for k in record.searched if k in df.columns][:LEADERBOARD_SHOWN]
    shown = df[keep].rename(columns=lambda c: column_header(record, c))  # a distance's header names its features
    html_table = shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0, escape=True)
    test = "" if record.selected_on_test else (
        f" {record.test_metric}_at_best is the test-split value at the report where {record.metric} was best (the "
        f"checkpoint the trial keeps); it is reported, never used to rank.")
    caption = (f"Every trial, ranked by its best {record.metric} ({record.mode}); {record.selection_note}. Status "
               f"names the ASHA rung where a trial was stopped. {record.metric}@R is the value after R reports (the "
               "ASHA rungs) and rank@R the trial's rank among those that reached R: the comparison at equal budget."
               f"{test}{_notes(record)} All parameters are in leaderboard.csv.")
    return Table("Leaderboard", caption, html_table, "leaderboard.csv")


def _notes(record: StudyRecord) -> str:
    """What the study metric is not (a grey-level nelbo), and the best trial's importance-weighted NLL beside the
    paper's; each sentence with a leading space, or ''."""
    out, nll = nelbo_caption(record), best_nll_text(record)
    if nll:
        out += (f" Best trial, measured once on its kept checkpoint when the study ended (the leaderboard's "
                f"*_nll_iw columns): {nll}.")
    return out


def write(path: Path, record: StudyRecord, sections: list[Section], leaderboard: Table, best: dict | None,
          pareto: Table | None = None) -> None:
    """Write the report page to ``path``; a multi-objective study's ``pareto`` table comes before the leaderboard."""
    r = record
    counts = ", ".join(f"{k[2:].replace('_', ' ')} {int(v)}" for k, v in sorted(r.parent_metrics.items())
                       if k.startswith("n_"))
    head = (f"<h1>{html.escape(r.study)}</h1><p>Family <code>{r.family}</code>; metric <code>{html.escape(r.metric)}"
            f"</code> ({r.mode}). Parent run <code>{r.parent_run_id}</code> ({html.escape(r.parent_name)}, "
            f"{r.parent_status}) in <code>{html.escape(store.shown_uri(r.tracking_uri))}</code>. Trials: {counts or 'counts not logged'}."
            f" Exported {dt.datetime.now().isoformat(timespec='seconds')}.</p>")
    if r.selected_on_test:
        head += f'<p class="omitted"><b>Selected on the test set.</b> {html.escape(r.selection_note)}.</p>'
    if best is not None:
        b = best[config_file.BEST]
        config = " ".join(f"{k}={v}" for k, v in b[config_file.CONFIG].items())
        metric = b[S.METRIC]
        test = metric.get("test")
        beside = "" if test is None else f", {html.escape(r.test_metric)} (test split, reported) = {test:.4f}"
        chosen = "Pareto rank 1" if r.objectives else "Best trial"  # a front's rank 1: its best first objective
        n = len(best[config_file.TOP_K])
        listed = f"every point of the front, {n}" if r.objectives else f"the top {n}"
        head += (f"<p><b>{chosen}</b> {b[S.TRIAL_ID]} (run <code>{b['run_id']}</code>), chosen on {r.metric}: "
                 f"{r.metric} = {metric['best']:.4f}{beside} at report {metric['best_report']}. Config "
                 f"(<a href=\"best_config.yaml\">best_config.yaml</a>, with {listed}): "
                 f"<code>{html.escape(config)}</code></p>")
    notes = _notes(record).strip()
    if notes:
        head += f"<p>{html.escape(notes)}</p>"
    front = [] if pareto is None else ["<h2>Pareto front</h2>", _item_html(pareto)]
    body = [head, *front, "<h2>Leaderboard</h2>", _item_html(leaderboard)]
    for s in sections:
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.intro:
            body.append(f"<p>{inline(s.intro)}</p>")
        body += [_item_html(i) for i in s.items]
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(r.study)} report</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
    path.write_text(page, encoding="utf-8")
