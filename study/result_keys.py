"""Keys of Tune results besides the metrics (those are in ``trainables.metric_names``)."""

from record import schema as S

ITERATION = "training_iteration"  # Tune's report counter (ray.tune.result.TRAINING_ITERATION; not imported: --print
# must not import Ray)
FAILURE = "failure"  # set by the trainable wrapper: "diverged: ...", "cuda_oom: ..."; not retried
NODE_ID = S.NODE_ID  # the node a report came from; logged as the run's tag of the same name
NODE_IP = S.NODE_IP  # Tune's own result key (ray.tune.result.NODE_IP), the same name as the tag
COPIED_FROM = "copied_from_trial"  # PBT: the first report after an exploit names the trial whose checkpoint it continued
COPIED_REPORT = "copied_from_report"  # ... and that checkpoint's report (study.lineage)
COPIED_CONFIG = "copied_config"  # ... and the config it trains with from then on (PBT may change the trial's config
# again before the driver's callbacks see this result: the trainable's is the one this report was trained with)

__all__ = ["COPIED_CONFIG", "COPIED_FROM", "COPIED_REPORT", "FAILURE", "ITERATION", "NODE_ID", "NODE_IP"]
