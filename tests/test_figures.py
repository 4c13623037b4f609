"""The committed figures and their index agree, and every notebook's figures are indexed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"


def indexed():
    rows = re.findall(r"^\| `([^`]+)` \| .+ \| (\d\d_\w+) \|$", (FIGURES / "README.md").read_text(), re.M)
    return dict(rows)


def pattern(saved_name):
    """A figure name as a notebook writes it, as a regular expression of the names it makes:
    ``{OPERATOR}`` is cW (every notebook's default), any other field one or more word signs."""
    fields = re.split(r"(\{\w+\})", saved_name.replace("{OPERATOR}", "cW"))
    return "".join(r"\w+" if re.fullmatch(r"\{\w+\}", f) else re.escape(f) for f in fields)


def test_every_figure_a_notebook_saves_is_indexed_with_that_notebook():
    index = indexed()
    saved = []
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = notebook.read_text()
        for name in re.findall(r'save_figure\([^,]+, f?\\"([^"\\]+)\\"', text):
            saved.append(name)
            made = [f for f in index if re.fullmatch(pattern(name), f)]
            assert made, f"{name} (from {notebook.name}) not indexed"
            assert {index[f] for f in made} == {notebook.stem}, f"{name}: indexed elsewhere"
    assert len(saved) == len(set(saved)) >= 20


def test_a_saved_name_with_a_field_matches_each_value_of_the_field():
    assert re.fullmatch(pattern("09_pulls_{OPERATOR}_{tag}"), "09_pulls_cW_vae_dnn")
    assert not re.fullmatch(pattern("09_pulls_{OPERATOR}_{tag}"), "09_pulls_cqq1_vae_dnn")
    assert not re.fullmatch(pattern("04_smearing_{OPERATOR}"), "04_smearing_cW_extra")


def test_committed_figures_match_the_index():
    index = indexed()
    pngs = {p.stem for p in FIGURES.glob("*.png")}
    pdfs = {p.stem for p in FIGURES.glob("*.pdf")}
    assert pngs == pdfs == set(index), (
        f"not committed: {sorted(set(index) - pngs)}; not indexed: {sorted(pngs - set(index))}")
