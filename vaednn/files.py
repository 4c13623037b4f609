"""Atomic file writes: a file the package writes is either the old one or the new one.

An interrupted save (a crash, Ctrl-C, a full disk) must never leave a truncated model,
results table or README behind. Every write goes to a temporary file in the same folder,
is flushed to disk, and is then renamed over the target: ``os.replace`` is atomic on POSIX
and Windows when both paths are on one file system, which a sibling temporary guarantees.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
>>> with atomic_path(target) as temporary:
...     _ = temporary.write_text("a,b\\n1,2\\n")
>>> target.read_text()
'a,b\\n1,2\\n'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_text", "check_folder", "check_writable", "existing_file",
           "load_model"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it over ``path`` if the block succeeds.

    The temporary keeps the target's suffix (``.keras``, ``.csv``), because some writers
    (Keras' ``model.save``) choose their format from it. If the block raises, the temporary
    is removed and ``path`` is left exactly as it was.

    Args:
        path: the file to write. Its folder is created if missing.

    Yields:
        The temporary path to write to.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def check_folder(folder: str | os.PathLike) -> Path:
    """Refuse a folder that cannot be created because a file stands on its path.

    ``mkdir`` would say only "File exists" or "Not a directory", without naming which part.
    """
    folder = Path(folder)
    for part in (folder, *folder.parents):
        if part.exists() or part.is_symlink():
            if not part.is_dir():
                raise NotADirectoryError(f"{folder}: {part} is a file, not a folder")
            break
    return folder


def check_writable(path: str | os.PathLike, overwrite: bool = False, inputs=()) -> Path:
    """The one rule of every writer of the package, checked before anything is written.

    An output that is one of ``inputs`` (the files the run reads) is refused always, also
    with ``overwrite``: replacing the data being scored loses it. An existing output is
    refused unless ``overwrite``. A file on the output's folder path is named.

    Raises:
        ValueError: ``path`` is one of ``inputs``.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        IsADirectoryError, NotADirectoryError: ``path`` is a folder, or a parent a file.
    """
    path = Path(path)
    check_folder(path.parent)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a file to write")
    for source in inputs:
        # samefile: also through a symbolic or hard link to the input.
        if source is not None and path.exists() and Path(source).exists() \
                and os.path.samefile(source, path):
            raise ValueError(f"{path}: is an input of this run ({source}); writing there "
                             "would replace it, even with --force: choose another output")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True (--force) to replace it")
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`, or the error that names what it should have been.

    >>> existing_file(".", "sample map")
    Traceback (most recent call last):
    ...
    IsADirectoryError: .: is a directory, not a sample map

    Raises:
        IsADirectoryError: ``path`` is a directory, not a ``what``.
        FileNotFoundError: there is no such file.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a {what}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    return path


def load_model(path: str | os.PathLike, **kwargs):
    """``keras.models.load_model`` with errors that say what is wrong with the file.

    Keras reports a directory, or a ``.keras`` file that is not a zip archive (truncated,
    corrupt, something else renamed), as "File not found". Keras' ``safe_mode`` stays on.

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: a directory.
        ValueError: the file is not a loadable Keras model; the message says why.
    """
    import zipfile

    import keras

    path = existing_file(path, ".keras model file")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a .keras model (not a zip archive: truncated or corrupt)")
    try:
        return keras.models.load_model(path, **kwargs)
    except Exception as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"{path}: cannot load the model ({type(error).__name__}: "
                         f"{reason})") from error
