"""Starting the driver's Ray: one more try when a private node crashes at start-up.

Ray 2.60's raylet gives its dashboard agent a fixed window to write its port files and aborts when the agent's
Python start-up is slower than that (a loaded machine: ray-project/ray#62883, "Check failed ... Timed out waiting
for file"); ``ray.init`` then raises "The current node timed out during startup". The node is this driver's own
(``address="local"``), so it is shut down and started once more. A cluster's address is never retried: a node
that genstudy did not start is not genstudy's to restart.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

START_TIMEOUT_MESSAGE = "timed out during startup"
ATTEMPTS = 2


def init(address: str, init_fn: Callable[..., Any] | None = None, shutdown_fn: Callable[[], None] | None = None,
         **kwargs: Any) -> Any:
    """``ray.init(address=address, **kwargs)``, tried :data:`ATTEMPTS` times for a private node whose start timed
    out; any other error, or a cluster's address, is raised at once."""
    if init_fn is None or shutdown_fn is None:
        import ray

        init_fn, shutdown_fn = init_fn or ray.init, shutdown_fn or ray.shutdown
    attempt = 1
    while True:
        try:
            return init_fn(address=address, **kwargs)
        except Exception as e:  # noqa: BLE001 - Ray raises a bare Exception for this
            if address != "local" or START_TIMEOUT_MESSAGE not in str(e) or attempt >= ATTEMPTS:
                raise
            shutdown_fn()
            print(f"genstudy: Ray's local node did not start ({str(e).splitlines()[0][:100]}; a known Ray start-up "
                  "race on a loaded machine, ray-project/ray#62883): starting it again", file=sys.stderr, flush=True)
        attempt += 1
