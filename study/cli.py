"""The command line of ``python -m study.run``."""

from __future__ import annotations

from record.errors import Parser


def build_parser(prog: str = "python -m study.run") -> Parser:
    p = Parser(prog=prog, description="Run a hyperparameter study of a generative model "
               "(Optuna TPE proposes, ASHA stops weak trials, Ray Tune runs them, MLflow records them).")
    p.add_argument("study", nargs="?", help="study name (see --list)")
    p.add_argument("--list", action="store_true", help="list the studies and exit")
    p.add_argument("--print", action="store_true", help="print the resolved study and exit (Ray is not started)")
    p.add_argument("--profile", default="quick", help="smoke (~1 min), quick (~10 min, default), full (GPU/cluster)")
    p.add_argument("--num-samples", type=int, help="configurations to propose (over-cap ones count, untrained)")
    p.add_argument("--max-epochs", type=int, help="epochs per trial (ASHA's max_t)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="fix a config value for every trial (repeatable), e.g. --set beta=1; with --searcher grid, "
                   "KEY=a,b,c lists a grid axis")
    p.add_argument("--data-root", help="dataset folder (default $GENSTUDY_DATA_ROOT or ~/.cache/genstudy/data)")
    p.add_argument("--tracking-uri", help="MLflow URI (default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    p.add_argument("--address", help="Ray cluster address, e.g. auto or ray://host:10001 (default $RAY_ADDRESS, "
                   "else a local Ray instance)")
    p.add_argument("--storage-path", help="Tune's experiment folder (default ~/ray_results)")
    p.add_argument("--from-config", metavar="YAML", help="train again, as one trial, the best configuration in a "
                   "best_config.yaml written by python -m analysis.export (STUDY may be omitted)")
    p.add_argument("--rank", type=int, help="with --from-config: which of its top-k configs (default 1)")
    p.add_argument("--resume", action="store_true", help="continue the last interrupted run of STUDY")
    p.add_argument("--cpus-per-trial", type=float, help="CPUs per trial (default: the profile's, 1)")
    p.add_argument("--gpus-per-trial", type=float, help="GPUs per trial, fractions allowed (default 1 if the "
                   "cluster has GPUs, else 0)")
    p.add_argument("--max-concurrent", type=int, help="trials at once (default: the profile's)")
    p.add_argument("--searcher", choices=["tpe", "random", "grid"],
                   help="Optuna's TPE (default), random search (e.g. as a baseline), or grid: every combination of "
                   "the values listed with --set KEY=a,b,c (and the study's grid) trained once (default for a grid study)")
    p.add_argument("--scheduler", choices=["asha", "hyperband", "pbt", "pb2", "fifo"],
                   help="asha: early stopping (default); hyperband: ASHA with 3 brackets; pbt: population-based "
                   "training, which changes the study's mutable keys (learning rates, regularisers) while a random "
                   "population trains and copies the best trials' weights into the worst; pb2: the same, with new "
                   "values chosen by a Gaussian-process bandit (Population Based Bandits) instead of random "
                   "perturbation; fifo: none, every trial trains to the end (default for grid)")
    p.add_argument("--objectives", metavar="METRIC,n_params", help="search several objectives at once (Optuna's "
                   "multi-objective TPE; the Pareto front is printed and exported), e.g. val_nelbo,n_params; the first "
                   "is a validation metric, which ASHA and the kept checkpoint read")
    p.add_argument("--param-cap", type=int, help="largest model, in parameters, a trial may build "
                   "(default: the study's, 25,000,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the searcher and of every trial (default 0)")
    p.add_argument("--studies", action="append", default=[], metavar="FILE.py",
                   help="a Python file defining STUDIES, a list of search_spaces.Study, added to the registry "
                        "(repeatable; also $GENSTUDY_STUDIES and the genstudy.studies entry points)")
    p.add_argument("--register", metavar="NAME", help="register the best model in the MLflow model registry as NAME "
                   "(a new version each time)")
    p.add_argument("--no-publish", action="store_true", help="do not log the best trial as an MLflow model with its "
                   ".pt2 programs when the study ends (its checkpoint stays in its run; analysis.export --models "
                   "writes the programs later)")
    p.add_argument("--no-baselines", action="store_true", help="do not evaluate the study's known-good points "
                   "first (e.g. to compare searchers from the same start)")
    p.add_argument("--confirm", type=int, metavar="K", help="after the search, train its top K configurations again "
                   "with fresh seeds and record mean ± sd (default: the profile's, 3 for quick and full; 0: none)")
    p.add_argument("--verbose", action="store_true", help="Ray Tune's own output (its trial table every 30 s, each "
                   "trial's configuration and results) instead of genstudy's progress view")
    p.add_argument("--confirm-seeds", type=int, metavar="N", help="fresh seeds per confirmed configuration "
                   "(default: the profile's, 3)")
    return p
