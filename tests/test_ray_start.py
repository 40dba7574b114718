"""study.ray_start: a private Ray node whose start timed out (ray-project/ray#62883) is started once more;
other errors and a cluster's address are raised at once."""

from __future__ import annotations

import pytest

from study import ray_start

TIMEOUT = Exception("The current node timed out during startup. This could happen because some of the raylet "
                    "failed to startup or the GCS has become overloaded.")


class FakeRay:
    def __init__(self, errors: list[Exception]):
        self.errors, self.calls, self.shutdowns = list(errors), [], 0

    def init(self, **kwargs):
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        return "context"

    def shutdown(self):
        self.shutdowns += 1


def test_a_local_node_that_timed_out_is_started_again_once(capsys):
    ray = FakeRay([TIMEOUT])
    assert ray_start.init("local", ray.init, ray.shutdown, include_dashboard=False) == "context"
    assert ray.calls == [{"address": "local", "include_dashboard": False}] * 2 and ray.shutdowns == 1
    assert "ray-project/ray#62883" in capsys.readouterr().err


def test_a_second_timeout_is_raised():
    ray = FakeRay([TIMEOUT, TIMEOUT])
    with pytest.raises(Exception, match="timed out during startup"):
        ray_start.init("local", ray.init, ray.shutdown)
    assert len(ray.calls) == ray_start.ATTEMPTS


@pytest.mark.parametrize("address, error", [("ray://10.0.0.1:10001", TIMEOUT), ("local", ValueError("bad option"))])
def test_a_cluster_or_another_error_is_not_retried(address, error):
    ray = FakeRay([error])
    with pytest.raises(type(error)):
        ray_start.init(address, ray.init, ray.shutdown)
    assert len(ray.calls) == 1 and ray.shutdowns == 0
