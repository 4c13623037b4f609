"""The main job's console: one line per section, warnings that matter, no start-up noise."""

import logging

import nbformat
import pytest

from vaednn import reproduce


def test_a_notebook_runs_quietly_but_shows_what_matters(tmp_path, caplog):
    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to "
             "STDERR\\nI0000 00:00:1795727119.389707    5328 port.cc:153] oneDNN custom "
             "operations are on.\\n")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Data\nwhat the reader sees"),
        nbformat.v4.new_code_cell(f"import os\nos.write(2, b'{noise}')\n"
                                  "os.write(2, b'disk almost full\\n')"),
        nbformat.v4.new_markdown_cell("## Training"),
        nbformat.v4.new_code_cell("import warnings\nwarnings.warn('the KL term diverged')"),
    ])
    path = tmp_path / "00_tiny.ipynb"
    nbformat.write(notebook, path)
    with caplog.at_level(logging.INFO, logger="vaednn"):
        reproduce.execute(path, timeout=120)
    lines = [record.getMessage() for record in caplog.records]
    text = "\n".join(lines)
    assert lines[0] == "    [1/2] Data" and "    [2/2] Training" in lines
    assert "UserWarning: the KL term diverged" in text
    assert "    kernel: disk almost full" in lines
    assert "absl" not in text and "oneDNN" not in text
    assert "TCP" not in text and "encryption" not in text
    assert not list(tmp_path.glob("kernel-ipc*")), "IPC sockets live in a temporary folder"


def test_chapters_run_side_by_side_each_after_the_chapters_it_loads(tmp_path, caplog, monkeypatch):
    figures = tmp_path / "figures"
    figures.mkdir()
    monkeypatch.setenv("VAEDNN_FIGURES", str(figures))
    cells = {
        "00_make.ipynb": "import os, pathlib, time\ntime.sleep(1)\n"
                         "pathlib.Path(os.environ['VAEDNN_FIGURES'], 'results.csv')"
                         ".write_text('operator,model,AUC\\ncW,x,0.5\\n')",
        "01_load.ipynb": "import os, pathlib\n"
                         "assert pathlib.Path(os.environ['VAEDNN_FIGURES'], 'results.csv').is_file()",
        "02_other.ipynb": "x = 1",
    }
    paths = []
    for name, code in cells.items():
        path = tmp_path / name
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}"),
                                                       nbformat.v4.new_code_cell(code)]), path)
        paths.append(path)
    with caplog.at_level(logging.INFO, logger="vaednn"):
        table = reproduce.run(paths, jobs=2)
    lines = [record.getMessage() for record in caplog.records]
    finished_00 = next(i for i, line in enumerate(lines) if line.startswith("    00 done in"))
    assert lines.index("[2/3] 01_load.ipynb") > finished_00
    assert "    01 [1/1] 01_load.ipynb" in lines, "side by side, a chapter's lines carry its number"
    assert table["AUC"].tolist() == [0.5]
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        reproduce.run(paths, jobs=0)
