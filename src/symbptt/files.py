"""The command line's files: .npz inputs read safely, outputs written whole or not at all.

An input's array headers are read, and their sizes checked against
``MAX_ELEMENTS``, before any array is allocated: a 1 KB file that claims a
terabyte is refused in a line. Every output is written beside its target and
renamed into place, so a failure leaves no partial file and an existing file
intact; a document and its PDF are replaced together, only when both are made.
"""

from __future__ import annotations

import math
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

# what zipfile, zlib and NumPy's reader raise for a damaged archive (found by tests/test_hostile.py:
# a changed byte can make a member claim an unsupported zip version, an encryption flag, a bad deflate stream)
_DAMAGED = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, KeyError, TypeError,
            NotImplementedError, RuntimeError, OverflowError)
MAX_ELEMENTS = 2**27  # per array: 1 GiB of float64; larger inputs are refused before they are read


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, or a ValueError of one line saying what is wrong with it."""
    if not path.exists():
        msg = f"no such file: {path}"
        raise ValueError(msg)
    if not path.is_file():
        msg = f"{path} is not a file"
        raise ValueError(msg)
    if not zipfile.is_zipfile(path):
        msg = f"{path} is not an .npz archive (save the arrays with numpy.savez)"
        raise ValueError(msg)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as stream:
                    _check_header(stream, member, path)
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except _DAMAGED as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"cannot read {path} as .npz arrays: {first}"
        raise ValueError(msg) from None


def _check_header(stream: object, member: str, path: Path) -> None:
    version = np.lib.format.read_magic(stream)  # type: ignore[arg-type]
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(stream)  # type: ignore[arg-type]
    elements = math.prod(shape)
    if dtype.hasobject:
        msg = f"{member} in {path} holds Python objects; only numeric arrays are read"
        raise ValueError(msg)
    if elements > MAX_ELEMENTS:
        msg = f"{member} in {path} claims shape {shape}: {elements} entries, more than the {MAX_ELEMENTS} allowed"
        raise ValueError(msg)


def atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write beside the target and rename: an error never leaves a partial file behind."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def save(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # NumPy's stub types **kwds as allow_pickle

    atomic(path, save)


def write_document(path: Path, text: str, make_pdf: Callable[[Path], Path] | None) -> Path | None:
    """The .tex (and, with ``make_pdf``, its PDF) made in a scratch folder beside ``path``, then moved in.

    If the TeX run fails, neither file is touched: an existing document survives.
    """
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}.") as scratch:
        tex = Path(scratch) / path.name
        tex.write_text(text, encoding="utf-8")
        pdf = make_pdf(tex) if make_pdf else None
        if pdf is not None:
            shutil.move(pdf, path.with_suffix(".pdf"))
        tex.replace(path)
    return path.with_suffix(".pdf") if pdf is not None else None
