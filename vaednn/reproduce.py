"""Run the numbered notebooks in order: the main job behind ``make figures``.

Each notebook is executed in a fresh kernel (nbclient) with its outputs kept in memory,
never written back, so the committed notebooks stay output-free; the figures they make go
to ``figures/`` and the results table to ``figures/results.csv``. Progress is logged per
notebook and per section (the notebook's markdown headings), and the run ends with the
summary table, which also refreshes the results section of the README.

The console stays quiet: kernels talk to nbclient over IPC sockets (no TCP, so no
transport-encryption warning), TensorFlow's C++ start-up lines are dropped, and what else
a kernel writes to its stderr, or a cell to its stderr stream as a Python warning, is
printed under the section it came from.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import textwrap
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from vaednn import compare, plotting
from vaednn.files import atomic_write_text
from vaednn.extras import require

log = logging.getLogger("vaednn")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
RESULTS_FILE = "results.csv"
README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The analysis notebooks, in chapter order (``00_…``, ``01_…``, …)."""
    return sorted(directory.glob("[0-9][0-9]_*.ipynb"))


def _heading(cell) -> str | None:
    if cell.cell_type != "markdown":
        return None
    for line in cell.source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


#: Kernel stderr lines that are start-up noise, not news: TensorFlow's C++ logs, which absl
#: writes before TF_CPP_MIN_LOG_LEVEL takes effect, and their preamble.
NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog"
                   r"|[IW]\d{4} [\d:. ]+\d+ \w+\.cc:\d+\]"
                   r"|To enable the following instructions)")


def worth_showing(line: str) -> bool:
    """Whether a kernel's stderr line reaches the console (not blank, not start-up noise).

    >>> worth_showing("I0000 00:00:1795727119.389707    5328 port.cc:153] oneDNN custom ops")
    False
    >>> worth_showing("/x/models.py:12: UserWarning: the KL term diverged")
    True
    """
    return bool(line.strip()) and not NOISE.match(line)


def _cell_warnings(cell) -> list[str]:
    """Python warnings a cell wrote to its stderr stream."""
    lines = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines += [line for line in output.get("text", "").splitlines()
                      if "Warning" in line and worth_showing(line)]
    return lines


def execute(path: Path, timeout: int = 3600) -> None:
    """Execute one notebook in a fresh kernel, logging each section as it starts."""
    from jupyter_core.utils import run_sync

    run_sync(execute_async)(path, timeout)


async def execute_async(path: Path, timeout: int = 3600, label: str | None = None) -> None:
    """:func:`execute` as a coroutine; ``label`` prefixes its lines when chapters run side by
    side."""
    nbclient = require("nbclient", "vaednn reproduce")
    nbformat = require("nbformat", "vaednn reproduce")
    require("ipykernel", "vaednn reproduce")
    from traitlets.config import Config

    notebook = nbformat.read(path, as_version=4)
    headings = {}
    current = None
    for index, cell in enumerate(notebook.cells):
        current = _heading(cell) or current
        headings[index] = current
    code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    shown = [None]

    def on_cell_execute(cell, cell_index):
        section = headings.get(cell_index)
        if section and section != shown[0]:
            step = code_cells.index(cell_index) + 1
            log.info("    %s[%d/%d] %s", f"{label} " if label else "", step, len(code_cells),
                     section)
            shown[0] = section

    def on_cell_executed(cell, cell_index, execute_reply):
        for line in _cell_warnings(cell):
            log.warning("        %s", line)

    with tempfile.TemporaryDirectory(prefix="vaednn-kernel-") as sockets, \
            tempfile.TemporaryFile("w+") as kernel_stderr:
        config = Config()
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(sockets) / "kernel")
        client = nbclient.NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", config=config,
            resources={"metadata": {"path": str(path.parent)}},
            on_cell_execute=on_cell_execute, on_cell_executed=on_cell_executed,
        )
        try:
            await client.async_execute(stderr=kernel_stderr)
        finally:
            kernel_stderr.seek(0)
            for line in kernel_stderr.read().splitlines():
                if worth_showing(line):
                    log.warning("    %skernel: %s", f"{label} " if label else "", line)


#: The chapters whose trained models (cached in RUNS) a chapter loads. Run side by side, a
#: chapter starts only after those, so it loads their models instead of training copies of
#: them; a chapter not listed here waits for every chapter before it. Chapter 03 needs only
#: the data: it loads chapter 01's VAE ensemble after training its own classifiers, by
#: which time 01 has finished. Chapter 09 loads chapter 04's classifiers and publishes the
#: AUCs of the results table, which chapters 04 and 07 write.
AFTER = {"00": (), "01": ("00",), "02": ("00",), "03": ("00",), "04": ("01", "03"),
         "05": ("01", "02", "03"), "06": ("00",), "07": ("04",),
         "08": (), "09": ("04", "07")}


def prerequisites(paths: list[Path]) -> dict[Path, list[Path]]:
    """For each notebook, the selected notebooks it must wait for (:data:`AFTER`).

    >>> paths = [Path(n) for n in ("00_data.ipynb", "04_sensitivity.ipynb", "10_mine.ipynb")]
    >>> {p.name: [q.name for q in after] for p, after in prerequisites(paths).items()}
    {'00_data.ipynb': [], '04_sensitivity.ipynb': [], '10_mine.ipynb': ['00_data.ipynb', '04_sensitivity.ipynb']}
    """
    by_chapter = {path.name[:2]: path for path in paths}
    return {path: ([by_chapter[c] for c in AFTER[path.name[:2]] if c in by_chapter]
                   if path.name[:2] in AFTER else paths[:index])
            for index, path in enumerate(paths)}


def _dependents(after: dict[Path, list[Path]]) -> dict[Path, int]:
    """How many chapters wait for each chapter, directly or through others."""
    def waiting_for(path, seen):
        for other, needed in after.items():
            if path in needed and other not in seen:
                seen.add(other)
                waiting_for(other, seen)
        return seen

    return {path: len(waiting_for(path, set())) for path in after}


async def _run_all(paths: list[Path], jobs: int) -> None:
    import asyncio

    # One at a time, the chapters keep their order.
    after = prerequisites(paths) if jobs > 1 else {p: paths[:i] for i, p in enumerate(paths)}
    # Of the chapters ready to start, those more chapters wait for go first: they are on the
    # longest chain (00, 01/03, 04, 07), which sets the wall time.
    waiting = _dependents(after)

    async def chapter(number, path):
        label = path.name[:2] if jobs > 1 else None
        log.info("[%d/%d] %s", number, len(paths), path.name)
        start = time.perf_counter()
        await execute_async(path, label=label)
        log.info("    %sdone in %.0f s", f"{label} " if label else "",
                 time.perf_counter() - start)

    pending, running, finished = list(paths), {}, set()
    try:
        while pending or running:
            ready = sorted((p for p in pending if all(q in finished for q in after[p])),
                           key=lambda p: (-waiting[p], paths.index(p)))
            for path in ready[:jobs - len(running)]:
                pending.remove(path)
                running[asyncio.ensure_future(chapter(paths.index(path) + 1, path))] = path
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                path = running.pop(task)
                task.result()
                finished.add(path)
    except BaseException:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise


def summary(figures: Path | None = None) -> pd.DataFrame:
    """The results table the notebooks wrote (AUC and min |c| per model and operator)."""
    path = Path(figures or plotting.FIGURES_DIR) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results yet; run the notebooks (make figures)")
    return compare.current_columns(pd.read_csv(path), str(path))


#: The interval in every cell of the README table, and the row its width is compared with.
README_BOUNDS = ("c_lo_95", "c_hi_95")
README_BASELINE = "counting"

#: Superscript digits of the README's note markers.
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class ReadmeTable(NamedTuple):
    """The README's results pivot (:func:`readme_table`): the table and its numbered notes."""

    table: pd.DataFrame
    notes: list[str]


def _bound(value: float) -> str:
    # Beyond |c| = 1, where the samples were generated, a bound extrapolates: never bare.
    return f"{value:.3g}" + (" †" if abs(value) > 1 else "")


def _joined(values) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values))


def readme_legend() -> str:
    """The paragraph above the README's results table: what a cell says."""
    lo, hi = README_BOUNDS
    return (
        f"Expected 95 % CL interval on the Wilson coefficient c (`{lo}`, `{hi}`) of each "
        "operator (columns) for each score (rows): a binned profile-likelihood fit of the "
        f"score (pyhf) at {plotting.LUMINOSITY_FB:g} fb⁻¹, without a background normalisation "
        "uncertainty; every choice (cut, binning) made on the validation split, every number "
        "from the test split. In brackets: the interval's width over that of the "
        f"`{README_BASELINE}` row of the same operator (below 1 is narrower, i.e. better; "
        f"— where the operator has no `{README_BASELINE}` row). † marks a bound beyond |c| = 1, "
        "where the samples were generated: it extrapolates. `trained on` says what a score "
        "learnt from (SM events only, each operator's own BSM events, or nothing); trained "
        "scores are means over `seeds` trainings. A blank cell: the score was not evaluated "
        "on that operator; — with a number: the fit gave no bounds, and the note of that "
        "number below the table says why. The full table (AUC, 3σ reach, intervals with a "
        "10 % background uncertainty, the spreads over seeds: standard deviation, ddof = 1, "
        "empty for one seed) is `figures/results.csv`; this section is written from it by "
        "`vaednn.reproduce.update_readme`.")


def readme_table(table: pd.DataFrame) -> ReadmeTable:
    """The results table (``figures/results.csv``) as the README shows it: a pivot with one
    row per model and one column per operator.

    Each cell is the :data:`README_BOUNDS` interval as ``[lo, hi] (ratio)``, ``ratio`` its
    width over the :data:`README_BASELINE` row's of the same operator (``—`` where the
    operator has none), a bound beyond |c| = 1 marked †. A cell whose fit gave no bounds
    shows ``—`` and a superscript number; the note of that number (``notes``) gives the
    reason, the ``binning`` column of the row (rows with one reason share a note). A model
    not evaluated on an operator has an empty cell. ``trained on`` and ``seeds`` (from
    ``trained_on`` and ``n_seeds``, where the table has them) list the values the model's
    rows take. Rows and columns keep the order of first appearance.

    Raises:
        ValueError: a column the pivot needs is missing, or an operator and model appear in
            more than one row.
    """
    needed = ("operator", "model", *README_BOUNDS)
    missing = [column for column in needed if column not in table]
    if missing:
        raise ValueError(f"readme_table: the results table has no column(s) {missing}; it "
                         f"needs {list(needed)}")
    repeated = table.duplicated(["operator", "model"], keep=False)
    if repeated.any():
        pairs = sorted(set(zip(table.loc[repeated, "operator"], table.loc[repeated, "model"])))
        raise ValueError(f"readme_table: more than one row for (operator, model) {pairs}")
    lo, hi = README_BOUNDS
    width = table[hi] - table[lo]
    baseline = dict(zip(table.loc[table["model"] == README_BASELINE, "operator"],
                        width[table["model"] == README_BASELINE]))
    reasons = (table["binning"] if "binning" in table else pd.Series("", index=table.index))
    # An all-empty column reads back from CSV as float NaN: cast before filling with text.
    reasons = reasons.astype(object).fillna("").astype(str)
    notes, marks, cells = [], {}, {}
    for index, row in table.iterrows():
        if np.isnan(row[lo]) or np.isnan(row[hi]):
            reason = reasons[index] or "the results table records no reason"
            if reason not in marks:
                marks[reason] = str(len(marks) + 1).translate(_SUPERSCRIPT)
                notes.append(f"{marks[reason]} no fit: {reason}")
            cell = "—" + marks[reason]
        else:
            ratio = width[index] / baseline[row["operator"]] if row["operator"] in baseline \
                else np.nan
            shown = "—" if np.isnan(ratio) else f"{ratio:.2f}"
            cell = f"[{_bound(row[lo])}, {_bound(row[hi])}] ({shown})"
        cells[(row["model"], row["operator"])] = cell
    models = list(dict.fromkeys(table["model"]))
    operators = list(dict.fromkeys(table["operator"]))
    by_model = table.groupby("model", sort=False)
    shown = pd.DataFrame({"model": models})
    if "trained_on" in table:
        shown["trained on"] = [_trained_on(rows) for _, rows in by_model]
    if "n_seeds" in table:
        shown["seeds"] = [_joined(rows["n_seeds"].astype(int)) for _, rows in by_model]
    for operator in operators:
        shown[operator] = [cells.get((model, operator), "") for model in models]
    return ReadmeTable(shown, notes)


def _trained_on(rows: pd.DataFrame) -> str:
    # A model trained on the operator of each of its rows is one per operator.
    if (rows["trained_on"] == rows["operator"]).all():
        return "each operator"
    return _joined(rows["trained_on"])


def readme_section(table: pd.DataFrame) -> str:
    """The README's results section from the results table: :func:`readme_legend`, the
    :func:`readme_table` pivot as Markdown, and its notes."""
    require("tabulate", "the README results table")
    pivot = readme_table(table)
    parts = [textwrap.fill(readme_legend(), width=92, break_on_hyphens=False),
             pivot.table.to_markdown(index=False)]
    if pivot.notes:
        parts.append("\n".join(f"{note}  " for note in pivot.notes).rstrip())
    return "\n\n".join(parts)


def update_readme(table: pd.DataFrame, readme: Path = ROOT / "README.md") -> bool:
    """Replace the README's results section with :func:`readme_section` of ``table`` (the
    results table, ``figures/results.csv``), atomically.

    Returns:
        True once written; False if the README has neither marker (no results section).

    Raises:
        ValueError: one marker without the other, a marker twice, or the end marker
            before the start marker; the README is then left as it is.
    """
    text = readme.read_text()
    counts = {marker: text.count(marker) for marker in (README_START, README_END)}
    if not any(counts.values()):
        return False
    if counts != {README_START: 1, README_END: 1}:
        raise ValueError(f"{readme}: the results section needs {README_START!r} and "
                         f"{README_END!r} once each, found {counts[README_START]} and "
                         f"{counts[README_END]}")
    if text.index(README_END) < text.index(README_START):
        raise ValueError(f"{readme}: {README_END!r} comes before {README_START!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = readme_section(table)
    atomic_write_text(readme, f"{head}{README_START}\n{body}\n{README_END}{tail}")
    return True


def run(selected: list[Path] | None = None, quick: bool = False, jobs: int = 1) -> pd.DataFrame:
    """Execute the notebooks and return the summary table.

    ``quick`` sets ``VAEDNN_QUICK=1`` for the kernels (small data, few epochs). The kernels
    run with ``KERAS_BACKEND=jax`` unless ``KERAS_BACKEND`` is already set. ``jobs`` > 1
    runs up to that many chapters side by side, each after the chapters whose models it
    loads (:data:`AFTER`): a kernel training these small networks keeps about one core
    busy, so two kernels use two cores.
    """
    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    paths = selected or notebooks()
    # The kernels inherit the environment: train on the fastest backend unless told otherwise
    # (benchmarks/bench_fit.py); set KERAS_BACKEND=tensorflow to switch.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    if not paths:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS_DIR}")
    if quick:
        # A quick run's figures are not the paper's: keep them out of figures/.
        os.environ["VAEDNN_QUICK"] = "1"
        os.environ.setdefault("VAEDNN_FIGURES", str(ROOT / "runs" / "quick" / "figures"))
        os.environ.setdefault("VAEDNN_RUNS", str(ROOT / "runs" / "quick"))
    os.environ.setdefault("VAEDNN_FIGURES", str(plotting.FIGURES_DIR.resolve()))
    from jupyter_core.utils import run_sync

    start = time.perf_counter()
    run_sync(_run_all)(list(paths), int(jobs))
    log.info("all %d notebooks in %.0f s", len(paths), time.perf_counter() - start)
    return summary(Path(os.environ["VAEDNN_FIGURES"]))
