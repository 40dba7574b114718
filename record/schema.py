"""The names of a study's MLflow record: tags, params, parent-run metrics, artifacts and the values they take.

Every name is defined here once; ``study/`` writes with these constants and ``analysis/`` reads with
them (tests/test_record_schema.py checks that no other module spells one out). Metric names that
trainables report are in :mod:`trainables.metric_names`; checkpoint files in :mod:`trainables.checkpoint`.

The layout (docs/mlflow.md, "What MLflow holds"):

* one experiment per study; one *parent run* per invocation of ``study.run`` (tag ``role=study``), with
  the budgets as params and, when the study ends, the best trial as ``best.*`` params and tags;
* one *child run* per trial (tag ``mlflow.parentRunId``), its full config as params, one metric step
  per report, and tags saying how it ended (``status``, ``reports_run``, ``stopped_by``, ``error``).
"""

from __future__ import annotations

# MLflow's own tag (mlflow.utils.mlflow_tags.MLFLOW_PARENT_RUN_ID): a trial's run names its study's parent run.
# Spelled out, not imported, so reading these names does not import MLflow (seconds): a bad invocation of
# study.run is refused without it. tests/test_record_schema.py checks it equals MLflow's constant.
PARENT_RUN_ID = "mlflow.parentRunId"

# --- tags of the parent run (one per invocation) ----------------------------------------------------
ROLE = "role"
ROLE_STUDY = "study"  # the value of ROLE on a parent run
STUDY = "study"  # the study's name (on the parent and on every trial's run)
PROFILE = "profile"
FAMILY = "family"  # the model family, so a record is read without the study registry
UNIT = "unit"  # what one report is: "epoch" or "report" (trainables.families.Family.unit)
FROM_CONFIG = "from_config"  # the best_config.yaml a --from-config run retrained
BEST_TRIAL_ID = "best_trial_id"
BEST_RUN_ID = "best_run_id"
BEST_MODEL_URI = "best_model_uri"  # models:/<id> of the published model (also on the best trial's run)
CONFIRM_ORDER_CHANGED = "confirm_order_changed"
CONFIRM_SEEDS = "confirm_seeds"
CONFIRM_BEST_TRIAL_ID = "confirm_best_trial_id"
MODEL_PARENT_RUN_ID = "parent_run_id"  # on the published model (with STUDY, BEST_RUN_ID, METRIC): where it came from

# --- tags of a trial's run --------------------------------------------------------------------------
TRIAL_ID = "trial_id"  # Ray Tune's trial id
STATUS = "status"  # one of STATUSES, set when the trial ends
REPORTS_RUN = "epochs_run"  # reports the trial made (epochs for the VAE families); the name predates "report"
STOPPED_BY = "stopped_by"  # "ASHA after report 2 of 4": see stopped_by()
ERROR = "error"  # the failure's last line
FAILURE_REASON = "failure_reason"  # one of FAILURE_REASONS: see failure_reason()
KILLED_BY = "killed_by"  # on a KILLED run: the signal that stopped the study (SIGTERM, SIGINT) or DRIVER_LOST
DRIVER_LOST = "driver lost"  # a run found RUNNING by a resumed study: its driver died without a word
NODE_ID = "node_id"  # the Ray node of the trial's last report
NODE_IP = "node_ip"
PHASE = "phase"  # SEARCH or CONFIRM; runs recorded before phases existed have none (read as SEARCH)
CONFIRM_RANK = "confirm_rank"  # the confirmed configuration's rank in the search
CONFIRM_OF = "confirm_of"  # the search trial whose configuration a confirmation run trains again
CONFIRM_SEED = "confirm_seed"
PBT_EXPLOITS = "pbt_exploits"  # on a PBT trial's run: how many times it continued from another trial's checkpoint
PBT_LINEAGE = "pbt_lineage"  # ... and the exploits as JSON (the latest that fit a tag; all in PBT_LINEAGE_FILE):
# [{"report": k, "donor_trial": id, "donor_run": run id, "changed": {config key: the value it continued with}}]

SEARCH = "search"
CONFIRM = "confirm"

FINISHED = "finished"  # trained to max_t
STOPPED_EARLY = "stopped_early"  # stopped by the scheduler (ASHA)
FAILED = "failed"  # raised, diverged or ran out of memory
KILLED = "killed"  # its driver was interrupted or died
REJECTED_CAP = "rejected_cap"  # never a run: over the parameter cap (listed in REJECTED_FILE)
ENDED = (FINISHED, STOPPED_EARLY, FAILED)  # what the study's callback sets when a trial ends
TRAINED = (FINISHED, STOPPED_EARLY)  # trials that trained successfully: the best is chosen among these
STATUSES = (*ENDED, KILLED, REJECTED_CAP)

DIVERGED, CUDA_OOM, OTHER_FAILURE = "diverged", "cuda_oom", "error"
FAILURE_REASONS = (DIVERGED, CUDA_OOM, OTHER_FAILURE)
DISK_FULL = "disk full"  # a KILLED_BY value: a trial could not write its checkpoint (the study stopped; resumable)


def failure_reason(error: str) -> str:
    """The FAILURE_REASON of an error line: its first word when that names the failure ("diverged: ...",
    "cuda_oom: ..."), else OTHER_FAILURE."""
    first = error.split(":", 1)[0]
    return first if first in (DIVERGED, CUDA_OOM) else OTHER_FAILURE


def stopped_by(reports: int, max_t: int, scheduler: str = "ASHA") -> str:
    """The STOPPED_BY tag of a trial the scheduler stopped after ``reports`` of ``max_t`` reports."""
    return f"{scheduler} after report {reports} of {max_t}"


# --- params of the parent run -------------------------------------------------------------------------
METRIC = "metric"  # the study metric (validation split)
MODE = "mode"  # "min" or "max"
TEST_METRIC = "test_metric"  # its test counterpart, reported beside it
# a multi-objective study's objectives, first (the metric above) first: "val_nelbo:min:test_nelbo,n_params:min",
# each NAME:MODE[:TEST_NAME] (record.objectives); absent for a study of one objective
OBJECTIVES = "objectives"
NUM_SAMPLES = "num_samples"
MAX_EPOCHS = "max_epochs"
MAX_T = "max_t"  # reports a trial makes when not stopped early (ASHA's max_t)
PARAM_CAP = "param_cap"
GRACE_PERIOD = "grace_period"
REDUCTION_FACTOR = "reduction_factor"
SEARCHER = "searcher"
SCHEDULER = "scheduler"
POPULATION_BASED = ("pbt", "pb2")  # its values whose trials continue from each other's checkpoints (study.pbt)
MAX_CONCURRENT = "max_concurrent"
PBT_INTERVAL = "pbt_interval"  # --scheduler pbt or pb2: reports between perturbations
PBT_MUTATIONS = "pbt_mutations"  # ... and the keys it may change, comma-separated
FIXED_PREFIX = "fixed."  # fixed.<key>: a value every trial shares
GRID_PREFIX = "grid."  # grid.<key>: a grid axis, comma-separated
BEST_PREFIX = "best."  # best.<key>: the best trial's config

# --- metrics of the parent run ----------------------------------------------------------------------
N_PROPOSED = "n_proposed"
N_REJECTED_CAP = "n_rejected_cap"
# what the driver's MLflow writer queues did over the search (record.queue.QueueStats): is the store keeping up?
TRACKING_STORE_CALLS = "tracking.store_calls"  # calls to the store (a batch of metrics is one)
TRACKING_METRIC_VALUES = "tracking.metric_values"  # metric values written
TRACKING_QUEUE_PEAK = "tracking.queue_peak"  # the most writes ever waiting in one queue
TRACKING_BUSY_S = "tracking.busy_s"  # seconds the writer threads spent in the store


def n_status(status: str) -> str:
    """``n_finished``: how many trials ended with ``status``."""
    return f"n_{status}"


PBT_PREFIX = "pbt."  # pbt.<key>: a PBT trial's value of a key PBT may change, at every report (its schedule)


def pbt_value(key: str) -> str:
    """``pbt.lr_g``: the metric recording config key ``key``'s value at each report of a PBT trial."""
    return f"{PBT_PREFIX}{key}"


def confirm_metric(rank: int, metric: str, stat: str) -> str:
    """``confirm_1_val_nelbo_mean``: a confirmed configuration's ``stat`` (mean or sd) of ``metric``."""
    return f"confirm_{rank}_{metric}_{stat}"


# --- artifacts ----------------------------------------------------------------------------------------
BEST_CONFIG_FILE = "best_config.json"  # on the parent: the best trial's config
REJECTED_FILE = "rejected.json"  # on the parent: configurations over the parameter cap
CONFIRM_FILE = "confirmation.json"  # on the parent: the confirmation's table
PBT_LINEAGE_FILE = "pbt_lineage.json"  # on a PBT trial's run: every exploit (the PBT_LINEAGE tag's full list)
REFERENCES_FILE = "references.json"  # on the parent: the published numbers the study compares with


def tag_filter(tag: str, value: str) -> str:
    """An MLflow search filter matching runs whose ``tag`` equals ``value``."""
    return f"tags.`{tag}` = '{value}'"
