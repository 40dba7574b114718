"""The end of a search: the summary printed, the best trial recorded on the parent run and published."""

from __future__ import annotations

import sys
import tempfile

from record import reader, store
from record import schema as S
from record.writer import Writer
from study import mlflow_ui, pareto, report
from study.final import measure
from study.resolve import Resolved
from trainables.metric_names import best_of
from trainables.vae_nll import nelbo_note, nll_text


def finish(r: Resolved, writer: Writer, exp_id: str, parent_id: str, searcher, data, register: str | None,
           publish_model: bool = True) -> int:
    """Print the summary and record the best trial on the parent run, from what MLflow holds; publish the best
    trial's model unless ``publish_model`` is False (``--no-publish``). A multi-objective study's best trial is
    the first objective's, and its summary ends with the Pareto front (:mod:`study.pareto`)."""
    outcomes = reader.outcomes(writer.client, exp_id, parent_id, r.study.metric, r.study.mode, r.study.test_metric)
    for line in report.summary(r, outcomes, searcher.rejected, searcher.proposed):
        print(line)
    writer.study_counts(parent_id, searcher.proposed, len(searcher.rejected),
                        {k: sum(o.status == k for o in outcomes.values()) for k in S.ENDED})
    writer.rejected(parent_id, [{"config": x.config, "n_params": x.n_params} for x in searcher.rejected])
    scored = {t: o for t, o in outcomes.items() if o.scored}
    if not scored:
        why = (f"every configuration was over the {r.param_cap:,}-parameter cap; fix: narrow the space "
               "(--set width=..., depth=...) or raise --param-cap" if searcher.rejected and not outcomes
               else "no trial trained successfully")
        print(f"study.run: {r.study.name}: {why}; nothing to report", file=sys.stderr)
        writer.flush()
        return 1
    pick = min if r.study.mode == "min" else max
    best_id = pick(scored, key=lambda t: scored[t].best)
    best = scored[best_id]
    run = store.retry(writer.client.get_run, best.run_id)
    config = dict(run.data.params)  # the trial's configuration as it started
    if r.scheduler in S.POPULATION_BASED:  # PBT changed it while training: the one its kept checkpoint was trained with
        config = _kept_config(writer, best.run_id) or config
    values = {best_of(r.study.metric): best.best}
    if best.test is not None:  # the test number of the chosen checkpoint: reported, not chosen by
        values[best_of(r.study.test_metric)] = best.test
    final = measure(writer, best.run_id, best.best_report, r.family, data, f"best trial {best_id}")
    values.update({best_of(k): v for k, v in final.items()})  # on the parent too, beside best_<metric>
    writer.best(parent_id, best_id, best.run_id, config, values)
    test = "" if best.test is None else f", {r.study.test_metric} = {best.test:.3f}"
    print(f"best trial {best_id} (chosen on {r.study.metric}): {r.study.metric} = {best.best:.3f}{test} at report "
          f"{best.best_report} ({best.status}, {best.reports} reports)")
    note = nelbo_note(r.study.metric, config)
    if note is not None:
        print(f"  {r.study.metric} and {r.study.test_metric}: {note}")
    for split in ("val", "test"):
        line = nll_text(final, config, split)
        if line is not None:
            print(f"  {line}")
    if S.PBT_EXPLOITS in run.data.tags:
        print(f"  PBT: it continued from another trial's checkpoint {run.data.tags[S.PBT_EXPLOITS]} times "
              f"(tag {S.PBT_LINEAGE}); its configuration at report {best.best_report}:")
    print("  " + " ".join(f"{k}={v}" for k, v in sorted(config.items())))
    if publish_model:
        publish(r, writer, exp_id, parent_id, best, data, register)
    else:
        print(f"  model: not published (--no-publish); the best checkpoint is in run {best.run_id}")
    uri = store.shown_uri(writer.uri)  # the database password stays out of logs
    print(f"MLflow: {uri}  experiment {r.study.name!r}  parent run {parent_id}  best run {best.run_id}")
    base = uri if uri.startswith(("http://", "https://")) else "http://127.0.0.1:5000"
    if base != uri:
        print(f"  browse: mlflow ui --backend-store-uri {uri}  (then open the trials below)")
    print(f"  trials: {mlflow_ui.runs_link(exp_id, base)}")
    if r.objectives:
        front = pareto.front(writer.client, outcomes, r.objectives)
        ended = [o.status for o in outcomes.values()]
        for line in pareto.lines(r.objectives, front, ended.count(S.FINISHED), ended.count(S.STOPPED_EARLY)):
            print(line)
    return 0


def _kept_config(writer: Writer, run_id: str) -> dict[str, str]:
    """The configuration in ``run_id``'s kept checkpoint (its ``config.json``), as params are: strings."""
    from trainables.checkpoint import CONFIG_FILE, CONFIG_KEY, read_config

    writer.flush()  # the kept checkpoint's files may still be queued for the store
    try:
        with tempfile.TemporaryDirectory(prefix="genstudy-config-") as tmp:
            store.retry(writer.client.download_artifacts, run_id, CONFIG_FILE, tmp)
            return {k: str(v) for k, v in read_config(tmp)[CONFIG_KEY].items()}
    except Exception as e:  # noqa: BLE001 - the summary then shows the trial's first configuration
        print(f"study.run: the kept checkpoint's configuration of run {run_id} did not read ({e})", file=sys.stderr)
        return {}


def publish(r: Resolved, writer: Writer, exp_id: str, parent_id: str, best, data, register) -> None:
    """The best trial as an MLflow model (+ ``.pt2`` programs, + a registry version); its URI tags both runs."""
    from study import mlflow_models

    tags = {S.STUDY: r.study.name, S.MODEL_PARENT_RUN_ID: parent_id, S.BEST_RUN_ID: best.run_id,
            S.METRIC: f"{r.study.metric}={best.best:.6g}"}
    try:
        published = mlflow_models.publish(writer, exp_id, best.run_id, best.best_report, r.family, data, register, tags)
    except Exception as e:  # noqa: BLE001 - the study's record stands without its published model
        print(f"study.run: publishing the best model failed ({type(e).__name__}: {e}); its checkpoint is in run "
              f"{best.run_id}", file=sys.stderr)
        return
    if published is None:
        return
    writer.published((parent_id, best.run_id), published.model_uri)
    print(f"  model: {published.model_uri} (mlflow.pytorch.load_model); programs: {', '.join(published.programs)} "
          f"on the best run" + (f"; registered as {published.registered}" if published.registered else ""))
