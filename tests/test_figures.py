"""The committed figures and their index agree, and every notebook's figures are indexed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"


def indexed():
    rows = re.findall(r"^\| `([^`]+)` \| .+ \| (\d\d_\w+) \|$", (FIGURES / "README.md").read_text(), re.M)
    return dict(rows)


def test_every_figure_a_notebook_saves_is_indexed_with_that_notebook():
    index = indexed()
    saved = []
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = notebook.read_text()
        for name in re.findall(r'save_figure\([^,]+, f?\\"([^"\\]+)\\"', text):
            name = name.replace("{OPERATOR}", "cW")
            saved.append(name)
            assert index.get(name) == notebook.stem, f"{name} (from {notebook.name}) not indexed"
    assert len(saved) == len(set(saved)) >= 20


def test_committed_figures_match_the_index():
    index = indexed()
    pngs = {p.stem for p in FIGURES.glob("*.png")}
    pdfs = {p.stem for p in FIGURES.glob("*.pdf")}
    assert pngs == pdfs == set(index), (
        f"not committed: {sorted(set(index) - pngs)}; not indexed: {sorted(pngs - set(index))}")
