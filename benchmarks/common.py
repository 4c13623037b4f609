"""What every benchmark shares: its command line and its clock.

A benchmark runs as ``python benchmarks/bench_<name>.py``, which puts this folder on the
path, so ``from common import command_line, timed`` finds this module.
"""

from __future__ import annotations

import argparse
import time


def command_line(doc: str, quick: str, argv=None, options=None) -> argparse.Namespace:
    """The arguments of a benchmark: ``--quick`` (``quick`` says what it shrinks) and any
    ``options`` (flag -> keyword arguments of ``add_argument``); ``--help`` shows the first
    line of the benchmark's docstring ``doc``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    for flag, settings in (options or {}).items():
        parser.add_argument(flag, **settings)
    return parser.parse_args(argv)


def timed(function):
    """``(seconds, result)`` of one call of ``function()``, on the monotonic clock."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result
