"""The driver's signal handling in-process, with real signals sent to this process: a signal during the set-up
is only noted (an exception raised from a handler in the middle of an import is lost in importlib's lock
callback, and once left a study hung in ``ray.init``), and stops the study when the set-up ends."""

from __future__ import annotations

import os
import signal

import pytest

from study.interrupts import SIGNALS, Interrupted, Interrupts


@pytest.fixture
def handlers():
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_signal_during_the_set_up_is_noted_and_raised_when_it_ends(handlers, capsys):
    interrupts = Interrupts("test")
    interrupts.install(deferred=True)
    os.kill(os.getpid(), signal.SIGTERM)  # handled here, between two bytecodes, and not raised
    assert interrupts.signum == signal.SIGTERM and interrupts.stop.is_set()
    with pytest.raises(Interrupted) as caught:
        interrupts.arm()
    assert caught.value.signum == signal.SIGTERM and interrupts.exit_code == 143
    assert "SIGTERM received" in capsys.readouterr().err


def test_once_armed_the_first_signal_raises_outside_tune_and_not_inside(handlers):
    interrupts = Interrupts("test")
    interrupts.install(deferred=True)
    interrupts.arm()  # nothing came: nothing raised
    with pytest.raises(Interrupted):
        with interrupts.tuning():
            os.kill(os.getpid(), signal.SIGINT)  # inside Tune's loop: only the stop event...
            assert interrupts.stop.is_set()
    # ...and the loop's end raises it
    fresh = Interrupts("test")
    fresh.install(deferred=True)
    fresh.arm()
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            pass
