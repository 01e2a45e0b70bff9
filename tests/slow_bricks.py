"""Bricks that do not finish on their own, for the step-time-limit tests (tests/test_stoppable.py).

SPIN spins in pure Python (holding the GIL between switches, as Pillow's text layout did for
100,000 characters) and swallows every Exception on the way, as careless engine code does.
SPIN-LOAD spins inside the model manager's loader, as a slow `from_pretrained` would. NAP sits
in one native call (a sleep), which no exception can interrupt. All record the thread they ran in. Loaded by module name or with `--bricks tests/slow_bricks.py`.
"""

import threading
import time

from lego_demo.spec import brick

SPIN = brick("SPIN", kind="edit", summary="Spin the CPU until stopped (tests only)",
             inputs={"image": "Image"}, outputs={"image": "Image"})
SPIN_LOAD = brick("SPIN-LOAD", kind="edit", summary="Spin while loading a model until stopped (tests only)",
                  inputs={"image": "Image"}, outputs={"image": "Image"})

NAP = brick("NAP", kind="edit", summary="Sleep in one native call (tests only)",
            inputs={"image": "Image"}, outputs={"image": "Image"})

THREADS: list[threading.Thread] = []  # the threads the engines ran in, newest last


def _spin(seconds: float) -> None:
    THREADS.append(threading.current_thread())
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sum(range(1000))
        except Exception:  # noqa: S110 - careless engine code: must not keep the step alive
            pass


@SPIN.engine("python")
def spin(ctx, image):
    _spin(float(ctx.options.get("seconds", 120)))
    return {"image": image}


@SPIN_LOAD.engine("python-model", kind="model")
def spin_load(ctx, image):
    ctx.models.get(("spin", "model"), lambda: _spin(float(ctx.options.get("seconds", 120))))
    return {"image": image}


@NAP.engine("sleep")
def nap(ctx, image):
    THREADS.append(threading.current_thread())
    time.sleep(float(ctx.options.get("seconds", 120)))
    return {"image": image}
