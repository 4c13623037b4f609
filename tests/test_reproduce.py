"""The main job's console: one line per section, warnings that matter, no start-up noise."""

import logging

import nbformat

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
