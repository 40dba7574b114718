"""Keys genstudy adds to Tune results besides the metrics (those are in ``trainables.metric_names``)."""

FAILURE = "failure"  # set by the trainable wrapper: "diverged: ...", "cuda_oom: ..."; not retried
NODE_ID = "node_id"
