"""The checks of a ``study.run`` invocation that need no Ray: flag values and combinations, the Ray
address, the CPUs and GPUs a trial asks of this machine, and the storage path; plus the one check that
needs Ray's view of a remote cluster, made right after ``ray.init``.

Each failure is a :class:`UsageError`: one line naming the problem and the fix (exit code 2). Every
check here is cheap (no network beyond one TCP connect), so a bad invocation ends in seconds instead
of after Ray has started, or never (a trial asking for a GPU nobody has stays PENDING).
"""

from __future__ import annotations

import math
import os
import socket
import sys
import tempfile
from typing import Callable, Mapping

from record.errors import UsageError
from study import storage

CONNECT_TIMEOUT_S = 3.0  # a Ray head on a LAN answers in milliseconds; Ray itself retries for over 90 s
LOCAL = "local"  # ray.init's private instance; study.run's default


def flags(args) -> None:
    """Flag values and combinations argparse cannot judge alone."""
    if args.rank is not None and not args.from_config:
        raise UsageError("--rank picks one of the configurations of a best_config.yaml; "
                         "fix: add --from-config best_config.yaml, or drop --rank")
    if args.from_config and args.resume:
        raise UsageError("--from-config starts a new run of one configuration and --resume continues an old run; "
                         "fix: drop one of them")
    if args.from_config and args.objectives:
        raise UsageError("--from-config trains one configuration, which has no Pareto front; fix: drop --objectives "
                         "(pick a point of a multi-objective study's front with --rank K)")
    if args.register and args.no_publish:
        raise UsageError(f"--register {args.register} registers the published model and --no-publish publishes none; "
                         "fix: drop one of them")
    cpus, gpus = args.cpus_per_trial, args.gpus_per_trial
    if cpus is not None and not (math.isfinite(cpus) and cpus > 0):
        raise UsageError(f"--cpus-per-trial must be > 0, got {cpus:g}; "
                         "fix: e.g. --cpus-per-trial 1 (fractions allowed)")
    if gpus is not None and not (math.isfinite(gpus) and gpus >= 0):
        raise UsageError(f"--gpus-per-trial must be >= 0, got {gpus:g}; fix: e.g. --gpus-per-trial 0.5, "
                         "or 0 to train on the CPU")


def ray_address(cli_value: str | None) -> str | None:
    """``--address``, else ``$RAY_ADDRESS``, else None (a private local Ray)."""
    return cli_value or os.environ.get("RAY_ADDRESS") or None


def before_resolving(args, ray_address: str | None, storage_location: str, resuming: bool) -> None:
    """What a run needs of the places it names, checked before the study is resolved (which imports torch, seconds):
    a new run's storage path and the Ray address."""
    if not resuming:
        storage_path(storage_location)
    address(ray_address, from_env=args.address is None)


def before_ray(args, r, ray_address: str | None) -> None:
    """Without a Ray address, the CPUs and GPUs one trial of the resolved study ``r`` asks of this machine."""
    if ray_address is None or ray_address == LOCAL:
        local_resources(_cpus(args, r), args.gpus_per_trial)


def storage_path(location: str) -> None:
    """A new run's ``--storage-path``: a folder that exists or can be made, or a URI pyarrow opens (as Ray will).
    An object store's URI is left to Ray: opening it may ask the network (an S3 bucket's region)."""
    if storage.is_uri(location) and location.split("://", 1)[0].lower() in storage.NETWORK_SCHEMES:
        return
    local = storage.local_path(location)  # file:// or a path
    if local is None:
        storage.filesystem(location)  # an unknown scheme: pyarrow's error as a UsageError
        return
    existing = next(p for p in (local, *local.parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"--storage-path {location}: {existing} is a file, not a folder; "
                         "fix: pass a folder (default ~/ray_results)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--storage-path {location}: {existing} is not writable; fix: pass a folder you can write to")


def address(value: str | None, from_env: bool) -> None:
    """``--address`` (or ``$RAY_ADDRESS``): ``local``, ``auto`` with a cluster started by ``ray start``,
    or ``host:port`` / ``ray://host:port`` where something accepts a TCP connection."""
    if value is None or value == LOCAL:
        return
    flag = f"RAY_ADDRESS={value}" if from_env else f"--address {value}"
    fix = "fix: start one with `ray start --head`, or pass its address, or drop --address for a private local instance"
    if value == "auto":
        found = _current_cluster()
        if found is None:
            raise UsageError(f"{flag}: no Ray cluster started with `ray start` on this machine "
                             f"({_address_file()} is missing); {fix}")
        value, flag = found, f"{flag} (the cluster in {_address_file()}, {found})"
    host_port = value.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    host = host.strip("[]")  # [::1]:6379
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "://" in host_port:
        raise UsageError(f"{flag} is not an address; fix: pass HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:10001, "
                         "auto or local")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        reason = "no answer in {:g} s".format(CONNECT_TIMEOUT_S) if isinstance(e, TimeoutError) else (
            e.strerror or type(e).__name__)
        raise UsageError(f"{flag}: nothing accepts connections at {host}:{port} ({reason}); {fix}") from None


def _address_file() -> str:
    """Where ``ray start`` leaves the address that ``auto`` reads: Ray's ``get_ray_address_file(None)``
    (ray._common.utils), inlined because importing Ray takes seconds; tests/test_bad_input.py checks they agree."""
    if "RAY_TMPDIR" in os.environ:
        base = os.environ["RAY_TMPDIR"]
    elif sys.platform.startswith("linux") and "TMPDIR" in os.environ:
        base = os.environ["TMPDIR"]
    else:
        base = "/tmp" if sys.platform.startswith(("linux", "darwin")) else tempfile.gettempdir()
    return os.path.join(base, "ray", "ray_current_cluster")


def _current_cluster() -> str | None:
    """The address ``ray start`` left for ``auto``. Ray would also attach to any raylet it finds among this
    machine's processes, which is how a study lands on another program's private instance: not followed."""
    try:
        with open(_address_file(), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def local_resources(cpus: float, gpus: float | None) -> None:
    """What one trial asks of this machine (no ``--address``): a trial that asks more than it has stays PENDING."""
    if gpus:
        import torch

        have = torch.cuda.device_count()
        if gpus > have:
            what = "no CUDA GPU is visible to torch" if have == 0 else f"torch sees {have} GPU(s)"
            raise UsageError(f"--gpus-per-trial {gpus:g}: {what} on this machine; fix: drop --gpus-per-trial "
                             "(trials train on the CPU), or pass --address of a Ray cluster with GPUs")
    if cpus > 1:
        from ray._private.utils import get_num_cpus

        have = get_num_cpus(override_docker_cpu_warning=True)  # what a local ray.init gives its instance
        if cpus > have:
            raise UsageError(f"a trial asks for {cpus:g} CPUs and this machine has {have}; fix: "
                             f"--cpus-per-trial {have} (or fewer), or pass --address of a larger Ray cluster")


def cluster_fits(resources: Mapping[str, float], args, r, on_refuse: Callable[[], None] = lambda: None) -> None:
    """One trial fits the Ray cluster (``ray.cluster_resources()``): checked right after ``ray.init`` and
    before any Tuner is built, for a remote cluster (``--address``) whose nodes only Ray can count.
    ``on_refuse`` runs before the UsageError (it ends the study's MLflow run, so none is left RUNNING)."""
    asked = {"GPU": args.gpus_per_trial or 0.0, "CPU": _cpus(args, r)}
    short = [(kind, n) for kind, n in asked.items() if n > resources.get(kind, 0.0)]
    if not short:
        return
    on_refuse()
    kind, n = short[0]
    flag = "--gpus-per-trial" if kind == "GPU" else "--cpus-per-trial"
    raise UsageError(f"a trial asks for {n:g} {kind}{'' if n == 1 else 's'} and the Ray cluster has "
                     f"{resources.get(kind, 0.0):g}; "
                     f"fix: lower {flag}, or add nodes with {kind}s to the cluster")


def _cpus(args, r) -> float:
    return args.cpus_per_trial or r.profile.cpus_per_trial  # study.run's choice, in _run
