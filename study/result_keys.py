"""Keys of Tune results besides the metrics (those are in ``trainables.metric_names``)."""

from record import schema as S

ITERATION = "training_iteration"  # Tune's report counter (ray.tune.result.TRAINING_ITERATION; not imported: --print
# must not import Ray)
FAILURE = "failure"  # set by the trainable wrapper: "diverged: ...", "cuda_oom: ..."; not retried
NODE_ID = S.NODE_ID  # the node a report came from; logged as the run's tag of the same name
NODE_IP = S.NODE_IP  # Tune's own result key (ray.tune.result.NODE_IP), the same name as the tag

__all__ = ["FAILURE", "ITERATION", "NODE_ID", "NODE_IP"]
