"""The confirmation section of the report, for every family (:mod:`analysis.confirmation` builds the table)."""

from __future__ import annotations

from analysis.confirmation import final_names, order_changed, spread_sentence, table
from analysis.figures.common import Context
from analysis.items import Section, Table
from analysis.record import column_header, nelbo_caption

CONFIRM_CSV = "confirmation.csv"


def sections(ctx: Context) -> list[Section]:
    r = ctx.record
    if not r.confirmations:
        return []
    df = table(r)
    df.to_csv(ctx.out / CONFIRM_CSV, index=False)
    n_seeds = max((int(n) for n in df["n_finished"]), default=0)
    verdict = ("The order changed: by the mean over fresh seeds the search's best configuration is not the best."
               if order_changed(df) else
               "The order held: the mean over fresh seeds ranks the configurations as the search did.")
    html = df.rename(columns=lambda c: column_header(r, c)).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0, escape=True)
    caption = (f"The search's top {len(df)} configurations trained again to the end with {n_seeds} fresh seeds each "
               f"(child runs tagged phase=confirm). {r.metric}_mean ± {r.metric}_sd: the best {r.metric} of each "
               f"seed's run, averaged; {r.test_metric} is the test value at that report, reported beside and never "
               f"used to rank.{_finals_caption(r)} Ranked by the mean. {verdict}{nelbo_caption(r)}")
    return [Section("Confirmation", f"{verdict} {spread_sentence(r, df)}".strip(),
                    [Table("Confirmation of the top configurations", caption, html, CONFIRM_CSV)])]


def _finals_caption(r) -> str:
    """The final metrics' columns, with a leading space, or '' when the confirmation measured none."""
    names = final_names(r)
    if not names:
        return ""
    return (f" {', '.join(names)} (_mean, _sd): measured once on each seed's kept checkpoint when the study ended, "
            "as the best trial's, then averaged over the seeds; never used to rank.")
