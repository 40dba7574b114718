"""From a study name, a profile and ``--set`` values to what a run needs: no Ray, no training.

The study, its profile and the ``--set`` values are checked with the family's config class
(:mod:`trainables.configs`, torch-free); the family's training code (:mod:`trainables.families`, which
imports torch) is imported only to count parameters and by the driver and the trials (:attr:`Resolved.family`).
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from record import schema as S
from record.errors import UsageError
from record.objectives import Objective
from search_spaces import STUDIES, Profile, Study, sample_space
from study import objectives as objective_flags
from study.grid import grid_points, grid_size
from trainables.configs import config_class

if TYPE_CHECKING:
    from trainables.family import Family

TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
N_DRY_SAMPLES = 64  # configurations sampled at start-up to check that the space and --set values build
SEED_MAX = 2**31 - 1  # numpy's RandomState (Optuna's samplers) takes seeds below 2**32, and a resumed search adds to it


@dataclass(frozen=True)
class Resolved:
    """A study with its profile and the user's overrides applied."""

    study: Study
    profile_name: str
    profile: Profile
    fixed: dict[str, Any]  # every value a trial does not sample: study, profile, --set, flags
    num_samples: int
    max_epochs: int
    max_t: int  # reports per trial: ASHA's max_t; a trial with fewer was stopped early
    max_concurrent: int
    seed: int
    param_cap: int
    searcher: str = "tpe"  # tpe | random | grid
    scheduler: str = "asha"  # asha | hyperband | pbt | pb2 | fifo (no early stopping): study.tuner.make_scheduler
    grid: dict[str, list[Any]] = dataclasses.field(default_factory=dict)  # key -> values (searcher grid)
    confirm: int = 0  # top configurations trained again after the search (study.confirm)
    confirm_seeds: int = 3  # fresh seeds for each
    mutations: dict[str, Any] = dataclasses.field(default_factory=dict)  # scheduler pbt or pb2: key -> Mutation
    objectives: tuple[Objective, ...] = ()  # several (--objectives): the first is study.metric; () for one

    @property
    def config_cls(self) -> type:
        """The family's typed config class (torch-free)."""
        return config_class(self.study.family)

    @property
    def family(self) -> Family:
        """The family's training code: imports torch on first use."""
        from trainables.families import FAMILIES

        return FAMILIES[self.study.family]

    def complete(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """Sampled values + fixed values -> the trial's full config, defaults included."""
        cfg = self.config_cls(**{**sampled, **self.fixed})
        return dataclasses.asdict(cfg)

    def n_params(self, config: dict[str, Any]) -> int:
        return self.family.n_params(self.config_cls(**config))

    def sample(self, trial: optuna.trial.Trial) -> dict[str, Any]:
        """One full config from ``trial`` (any sampler)."""
        return self.complete(sample_space(self.study.space, trial, self.fixed, self.profile.ranges, self.grid))


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise UsageError(f"unknown study {name!r}; valid studies: {', '.join(sorted(STUDIES))}; "
                         f"fix: {_did_you_mean(name, STUDIES)}name one of them (python -m study.run --list)")
    return STUDIES[name]


def parse_sets(items: list[str], config_cls: type) -> dict[str, Any]:
    """``["beta=1", "arch=conv"]`` -> ``{"beta": 1.0, "arch": "conv"}``, typed by the family's config class.

    ``KEY=a,b,c`` gives a list of typed values: a grid axis for ``--searcher grid``.
    """
    hints = typing.get_type_hints(config_cls)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item!r} is not KEY=VALUE; fix: e.g. --set beta=1.0")
        if key not in hints:
            raise UsageError(f"unknown --set key {key!r}; valid keys: {', '.join(sorted(hints))}; "
                             f"fix: {_did_you_mean(key, hints)}use one of them")
        if "," not in raw:
            out[key] = _parse_value(key, raw.strip(), hints[key])
            continue
        values = [_parse_value(key, part.strip(), hints[key]) for part in raw.split(",")]
        if len(set(map(repr, values))) != len(values):
            raise UsageError(f"--set {item}: a value is listed twice; fix: list each grid value once")
        out[key] = values
    return out


def _grid(study: Study, fixed: dict[str, Any], user: dict[str, Any], searcher: str | None) -> tuple[str, dict]:
    """The searcher and the grid: the study's grid less the keys fixed by the profile or ``--set KEY=VALUE``,
    plus every ``--set KEY=a,b,c``. Lists need ``--searcher grid``; a grid study defaults to it."""
    lists = {k: v for k, v in user.items() if isinstance(v, list)}
    if lists and (searcher or study.default_searcher) != "grid":
        raise UsageError(f"--set {next(iter(lists))}=... lists values: a grid; fix: add --searcher grid, or set one value")
    grid = {k: list(v) for k, v in study.grid.items() if k not in fixed} | lists
    searcher = searcher or ("grid" if grid else "tpe")
    if searcher == "grid" and not grid:
        raise UsageError(f"--searcher grid: {study.name} has no grid; fix: list values, e.g. --set beta=0.5,1,2")
    return searcher, grid if searcher == "grid" else {}


def _parse_value(key: str, raw: str, hint: Any) -> Any:
    args = typing.get_args(hint)
    if type(None) in args:  # Optional[T]
        if raw.lower() in {"none", "null"}:
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            if raw.lower() not in TRUE | FALSE:
                raise ValueError
            return raw.lower() in TRUE
        return hint(raw)
    except (TypeError, ValueError):
        raise UsageError(f"--set {key}={raw}: expected {getattr(hint, '__name__', hint)}; "
                         f"fix: e.g. --set {key}={_example(hint)}") from None


def _did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f"did you mean {close[0]!r}? or " if close else ""


def _example(hint: Any) -> str:
    return {bool: "true", int: "4", float: "0.5"}.get(hint, "value")


def resolve(name: str, profile: str = "smoke", sets: list[str] | None = None, num_samples: int | None = None,
            max_epochs: int | None = None, max_concurrent: int | None = None, seed: int = 0,
            param_cap: int | None = None, searcher: str | None = None, scheduler: str | None = None,
            confirm: int | None = None, confirm_seeds: int | None = None, baselines: bool = True,
            objectives: str | None = None) -> Resolved:
    """Apply a profile and overrides to study ``name`` and check a sample of configs builds.

    ``searcher`` None: grid for a study with a grid, else tpe; ``scheduler`` None: fifo (no early
    stopping) for a grid, else asha. A grid trains each of its points once: ``num_samples`` is its size.
    Under ``scheduler`` pbt or pb2 the searcher draws the population (random unless a grid) and confirm defaults
    to 0.
    ``objectives`` (``"val_nelbo,n_params"``): a multi-objective search (:mod:`study.objectives`); its first
    objective becomes the study metric, and confirmation is off.

    Raises:
        UsageError: unknown study, profile or key; a value of the wrong type or out of range.
    """
    study = get_study(name)
    if profile not in study.profiles:
        raise UsageError(f"unknown profile {profile!r}; valid: {', '.join(study.profiles)}; "
                         f"fix: {_did_you_mean(profile, study.profiles)}pass one of them to --profile")
    prof = study.profiles[profile]
    if not baselines:
        prof = dataclasses.replace(prof, use_baseline=False)
    user = parse_sets(sets or [], config_class(study.family))
    singles = {k: v for k, v in user.items() if not isinstance(v, list)}
    given_searcher = searcher
    searcher, grid = _grid(study, {**prof.fixed, **singles}, user, searcher)
    # several objectives: every trial to the end by default (ASHA would judge them on the first objective alone)
    scheduler = scheduler or ("fifo" if searcher == "grid" or objectives else "asha")
    mutations = _mutations(study, scheduler, {**singles, **grid}, confirm)
    population_based = scheduler in S.POPULATION_BASED
    if population_based and searcher == "tpe":
        if given_searcher:
            raise UsageError(f"--scheduler {scheduler} draws its population at random (Ray's PBT and PB2 take no "
                             "searcher); fix: drop --searcher tpe (or pass --searcher random or grid)")
        searcher = "random"
    if population_based and confirm is None:
        confirm = 0  # a PBT result is a schedule, which the confirmation cannot train again (_mutations)
    several = () if objectives is None else objective_flags.parse(objectives, study, searcher, scheduler, confirm)
    if several:  # ASHA, Tune, the kept checkpoint and the best trial read the first objective
        first = several[0]
        study = dataclasses.replace(study, metric=first.name, mode=first.mode, test_metric=first.test_name)
        confirm = 0
    if grid and num_samples is not None:
        raise UsageError(f"--num-samples: a grid trains each of its {grid_size(grid)} points once; fix: drop "
                         "--num-samples (another pass: --seed N)")
    user = singles
    # None, not 0, means "not given": --max-epochs 0 must be refused, not read as the profile's value
    epochs = next(v for v in (max_epochs, user.get("max_epochs"), prof.max_epochs) if v is not None)
    checks = (("--num-samples", num_samples), ("--max-epochs", epochs), ("--max-concurrent", max_concurrent),
              ("--param-cap", param_cap))
    for flag, value in checks:
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}; fix: pass 1 or more, or leave {flag} out "
                             "for the profile's value")
    if confirm is not None and confirm < 0 or confirm_seeds is not None and confirm_seeds < 2:
        raise UsageError(f"--confirm must be >= 0 (0: none) and --confirm-seeds >= 2 (a spread needs two), got "
                         f"{confirm} and {confirm_seeds}; fix: e.g. --confirm 3 --confirm-seeds 3")
    fixed = {**study.fixed, **prof.fixed, **user, "max_epochs": epochs, "seed": user.get("seed", seed)}
    _check_seeds([seed, fixed["seed"], *grid.get("seed", [])])
    fixed = {k: v for k, v in fixed.items() if k not in grid}  # e.g. --searcher grid --set seed=0,1,2
    resolved = Resolved(study, profile, prof, fixed, grid_size(grid) or num_samples or prof.num_samples,
                        epochs, 0, max_concurrent or prof.max_concurrent, seed, param_cap or study.param_cap,
                        searcher, scheduler, grid, prof.confirm if confirm is None else confirm,
                        confirm_seeds or prof.confirm_seeds, mutations, several)
    return dataclasses.replace(resolved, max_t=_dry_run(resolved))


def _mutations(study: Study, scheduler: str, user: dict[str, Any], confirm: int | None) -> dict[str, Any]:
    """The keys ``--scheduler pbt`` (or pb2) changes: the study's mutations less those fixed with ``--set``; {}
    otherwise."""
    if scheduler not in S.POPULATION_BASED:
        return {}
    mutations = {k: m for k, m in study.mutations.items() if k not in user}
    if not mutations:
        why = "declares none" if not study.mutations else "has them all fixed with --set"
        raise UsageError(f"--scheduler {scheduler} changes a study's mutable keys during training, and {study.name} "
                         f"{why}; fix: use --scheduler asha, or a study with mutations (e.g. gan_loss_sweep, "
                         "vae_beta_sweep)")
    if confirm:
        raise UsageError("--confirm trains fixed configurations again, and a PBT trial's result comes from a "
                         f"schedule of them; fix: --confirm 0 (the default under --scheduler {scheduler})")
    return mutations


def _check_seeds(seeds: list[Any]) -> None:
    bad = [x for x in seeds if not isinstance(x, int) or not 0 <= x <= SEED_MAX]
    if bad:
        raise UsageError(f"seed {bad[0]} is out of range; fix: use a seed in 0..{SEED_MAX} (--seed or --set seed=)")


def _dry_run(r: Resolved) -> int:
    """Sample configs at random (and build every grid point) so a bad --set fails now, not inside a worker,
    and a space whose every sampled config is over the parameter cap is refused before anything starts.

    Returns the number of reports a trial makes (the same for every config, or a UsageError).
    """
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    reports = set()
    smallest = None  # parameters of the smallest config counted; counting stops at the first under the cap
    points = [{}] * N_DRY_SAMPLES + grid_points(r.grid)
    for point in points:
        trial = probe.ask()
        try:
            config = r.complete({**r.sample(trial), **point})
        except (TypeError, ValueError) as e:
            raise UsageError(f"{r.study.name}: invalid configuration: {e}; fix: change that value with --set "
                             f"(python -m study.run {r.study.name} --print shows the space)") from None
        cfg = r.config_cls(**config)
        reports.add(r.family.n_reports(cfg))
        unmutable = [k for k in r.mutations if isinstance(config[k], bool) or not isinstance(config[k], (int, float))]
        if unmutable:
            raise UsageError(f"--scheduler {r.scheduler}: {unmutable[0]}={config[unmutable[0]]!r} is not a number it "
                             f"can change; fix: --set {unmutable[0]}=<a number>")
        if smallest is None or smallest > r.param_cap:
            n = r.family.n_params(cfg)
            smallest = n if smallest is None else min(smallest, n)
        probe.tell(trial, 0.0)
    if len(reports) != 1:
        raise UsageError(f"{r.study.name}: trials would make different numbers of reports {sorted(reports)}; "
                         "fix: do not search the keys that set the training length")
    if smallest > r.param_cap:
        raise UsageError(f"{r.study.name}: every one of {len(points)} configurations sampled is over the "
                         f"{r.param_cap:,}-parameter cap (the smallest has {smallest:,}); fix: raise --param-cap to "
                         f"{smallest:,} or more, or narrow the space (--set width=..., depth=...)")
    return reports.pop()


def describe_space(r: Resolved, n: int = 200) -> dict[str, str]:
    """Every sampled parameter with its distribution, from ``n`` random draws (covers conditional ones)."""
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen: dict[str, str] = {}
    for _ in range(n):
        trial = probe.ask()
        r.sample(trial)
        for name, dist in trial.distributions.items():
            seen.setdefault(name, _fmt_dist(dist))
        probe.tell(trial, 0.0)
    return dict(sorted(seen.items()))


def searched_keys(r: Resolved, n: int = 64) -> list[str]:
    """The config keys the space returns and the user did not fix, in the order the space returns them,
    from ``n`` random draws (conditional keys included)."""
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    keys: dict[str, None] = {}
    for _ in range(n):
        trial = probe.ask()
        sampled = sample_space(r.study.space, trial, r.fixed, r.profile.ranges, r.grid)
        keys |= dict.fromkeys(k for k in sampled if k not in r.fixed)
        probe.tell(trial, 0.0)
    return list(keys)


def run_name_keys(r: Resolved) -> tuple[str, ...]:
    """The keys in each trial's run name: the study's choice, else its first three searched keys."""
    return r.study.run_name_keys or tuple(searched_keys(r)[:3])


def _fmt_dist(d: Any) -> str:
    if isinstance(d, optuna.distributions.CategoricalDistribution):
        return "one of " + ", ".join(map(str, d.choices))
    kind = "log-uniform" if d.log else "uniform"
    number = "int" if isinstance(d, optuna.distributions.IntDistribution) else "float"
    return f"{kind} {number} in [{d.low:g}, {d.high:g}]"
