"""Keys genstudy adds to Tune results besides the metrics (those are in ``trainables.metric_names``)."""

FAILURE = "failure"  # set by the trainable wrapper: "diverged: ...", "cuda_oom: ..."; not retried
REPLAYED = "replayed"  # the result was read back from MLflow on --resume, not trained: the run's status
NODE_ID = "node_id"
