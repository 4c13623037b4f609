"""Training from a stream keeps memory flat as the input file grows.

For SM files of 1x, 4x and 16x the default sample (200k events), one epoch of the ``vae`` is
trained in a fresh process two ways, side by side:

* in memory (the reference): ``read_ntuple`` the whole file, then ``fit`` on the array;
* streamed: ``fit`` on ``vaednn.data.stream``, which reads the file chunk by chunk.

Each child process reports its own peak resident memory and its training throughput. The
stream's peak must stay flat (it depends on the chunk size, not the file), while the
in-memory peak grows with the file; the stream's throughput must stay within 20% of the
in-memory path's.

Usage: python benchmarks/bench_stream.py [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import command_line

CHILD = r"""
import json, sys, time
import numpy as np
from vaednn import data, models

path, mode = sys.argv[1], sys.argv[2]
adapt = data.read_ntuple(path, max_events=20_000).features.to_numpy()
model = models.build("vae", adapt, seed=0)
model.fit(adapt[:8192], epochs=1, verbose=0)  # trace the training step before timing
if mode == "memory":
    start = time.perf_counter()
    x = data.read_ntuple(path).features.to_numpy()
    model.fit(x, epochs=1, verbose=0)
    n = len(x)
else:
    start = time.perf_counter()
    model.fit(data.stream(Path(path).parent, batch_events=32 * 256, step_size="20 MB"),
              epochs=1, verbose=0)
elapsed = time.perf_counter() - start
if mode == "stream":
    n = sum(len(chunk) for chunk in data.iterate_ntuple(path, step_size="20 MB"))
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across
# exec, so it would report the generating parent's peak.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"events": n, "seconds": elapsed, "peak_mb": peak_kb / 1024}))
""".replace("from vaednn import", "from pathlib import Path\nfrom vaednn import")


def run_child(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = command_line(__doc__, "1x, 4x of a 50k-event sample")
    from vaednn import simulate

    base = 50_000 if args.quick else 200_000
    factors = (1, 4) if args.quick else (1, 4, 16)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in factors:
            directory = Path(tmp) / f"x{factor}"
            start = time.perf_counter()
            simulate.write_ntuples(directory, operators=("cW",), n_events=base * factor,
                                   n_bsm=1000, seed=factor)
            path = directory / "ntuple_SSWW_SM.root"
            size = path.stat().st_size / 2**20
            print(f"{factor:>3}x: {base * factor} events, {size:.0f} MB "
                  f"(written in {time.perf_counter() - start:.1f} s)", flush=True)
            for mode in ("memory", "stream"):
                result = run_child(path, mode)
                rows.append((factor, mode, result))
                print(f"      {mode:>6}: peak {result['peak_mb']:7.0f} MB, "
                      f"{result['events'] / result['seconds']:9,.0f} events/s", flush=True)
    peak = {(f, m): r["peak_mb"] for f, m, r in rows}
    rate = {(f, m): r["events"] / r["seconds"] for f, m, r in rows}
    big = factors[-1]
    growth_stream = peak[(big, "stream")] / peak[(1, "stream")]
    growth_memory = peak[(big, "memory")] / peak[(1, "memory")]
    throughput = min(rate[(f, "stream")] / rate[(f, "memory")] for f in factors)
    print(f"\npeak memory {big}x / 1x: stream {growth_stream:.2f}, in memory {growth_memory:.2f}")
    print(f"stream throughput / in-memory throughput (worst size): {throughput:.2f} "
          "(requirement: >= 0.80)")


if __name__ == "__main__":
    main()
