"""The command line's inputs read safely: .npz arrays and a cell's formula text.

An input's member names and array headers are read, and the sizes of all its
arrays together checked against ``MAX_ELEMENTS``, before any array is
allocated: a 1 KB file that claims a terabyte is refused in a line. Only
``NAME.npy`` members of booleans, integers and floats are read, each name once;
a device, a FIFO or a folder is refused before it is opened.
"""

from __future__ import annotations

import math
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

# what zipfile, zlib and NumPy's reader raise for a damaged archive (found by tests/bad_input/test_hostile.py:
# a changed byte can make a member claim an unsupported zip version, an encryption flag, a bad deflate stream)
_DAMAGED = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, KeyError, TypeError,
            NotImplementedError, RuntimeError, OverflowError, MemoryError)
MAX_ELEMENTS = 2**27  # all arrays of a file together: 1 GiB of float64; more is refused before it is read
MAX_MEMBERS = 1024
_HEADER_BYTES = 65536  # NumPy's own bound on an array header
_MEMBER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}\.npy")  # what numpy.savez writes for a keyword
_KINDS = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, or a ValueError of one line saying what is wrong with it."""
    path = Path(path)
    with _open_regular(path, "a file") as stream:
        if not zipfile.is_zipfile(stream):
            msg = f"{path} is not an .npz archive (save the arrays with numpy.savez)"
            raise ValueError(msg)
        member = ""
        try:
            with zipfile.ZipFile(stream) as archive:
                infos = _members(archive.infolist(), path)
                total = 0
                for member, info in infos.items():
                    with archive.open(info) as data:
                        total += _check_header(data, member, path)
                    if total > MAX_ELEMENTS:
                        msg = (f"{path} holds more than the {MAX_ELEMENTS} entries allowed in all its arrays "
                               f"together (at {member})")
                        raise _Refused(msg)
                arrays = {}
                for member, info in infos.items():
                    with archive.open(info) as data:
                        arrays[member[:-4]] = np.lib.format.read_array(data, allow_pickle=False)
                return arrays
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        except _DAMAGED as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            at = f" (member {member})" if member else ""
            msg = f"cannot read {path} as .npz arrays{at}: {first}"
            raise ValueError(msg) from None


INPUT_ARRAYS = ("X", "Y", "h0", "c0", "xi", "lengths")  # the contract's input file, beside the parameters by name


def read_inputs(path: Path, param_names: tuple[str, ...], cell: str) -> dict[str, np.ndarray]:
    """The contract's input file: the parameters by name, ``X``, ``Y``, optionally ``h0``, ``c0``, ``xi``; any
    other array, or a missing ``X`` or ``Y``, is refused in one line."""
    arrays = read_npz(path)
    allowed = (*param_names, *INPUT_ARRAYS)
    unexpected = sorted(set(arrays) - set(allowed))
    if unexpected:
        msg = f"{path} holds {', '.join(unexpected)}, not an input of the {cell} cell; allowed: {', '.join(allowed)}"
        raise ValueError(msg)
    for name in ("X", "Y"):
        if name not in arrays:
            msg = f"{path} has no array {name!r}"
            raise ValueError(msg)
    return arrays


def read_text(path: Path, limit: int) -> str:
    """A regular file's UTF-8 text of at most ``limit`` characters, or a one-line ValueError (``/dev/zero`` and a
    FIFO are refused before they are read; a longer file after ``4 * limit + 1`` bytes, never whole)."""
    path = Path(path)
    with _open_regular(path, "a text file") as stream:
        try:
            data = stream.read(4 * limit + 1)  # UTF-8 takes at most 4 bytes a character
        except OSError as exc:
            raise _unreadable(path, exc) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(data) <= 4 * limit or exc.start < 4 * limit - 3:  # not merely a character cut at the bound
            msg = f"cannot read {path} as text: it is not UTF-8 (byte {exc.start})"
            raise ValueError(msg) from None
        text = data[:exc.start].decode("utf-8")
    if len(text) > limit:
        msg = f"{path} holds more than {limit} characters"
        raise ValueError(msg)
    return text


def _open_regular(path: Path, what: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a FIFO would wait for a writer, a device never ends),
    or a one-line ValueError: no such file, not ``what``, cannot be read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        msg = f"no such file: {path}"
        raise ValueError(msg) from None
    except OSError as exc:
        raise _unreadable(path, exc) from None
    if not stat.S_ISREG(mode):
        msg = f"{path} is not {what}: it is {file_kind(mode)}"
        raise ValueError(msg)
    try:
        return path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> ValueError:
    return ValueError(f"cannot read {path}: {exc.strerror or type(exc).__name__}")


class _Refused(Exception):
    """A refusal of the file's content, raised inside the reading and passed on as it is."""


def _members(infos: list[zipfile.ZipInfo], path: Path) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name: each ``NAME.npy``, once; their declared sizes within the bound."""
    if len(infos) > MAX_MEMBERS:
        msg = f"{path} has {len(infos)} members, more than the {MAX_MEMBERS} allowed"
        raise _Refused(msg)
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not _MEMBER.fullmatch(name):
            msg = (f"{path} holds a member named {name!r}; only NAME.npy members (as numpy.savez writes them, "
                   "no folders) are read")
            raise _Refused(msg)
        if name in members:
            msg = f"{path} holds two members named {name!r}"
            raise _Refused(msg)
        members[name] = info
    declared = sum(info.file_size for info in infos)  # the uncompressed sizes, before anything is inflated
    if declared > 8 * MAX_ELEMENTS + _HEADER_BYTES * len(infos):
        msg = f"{path} unpacks to {declared} bytes, more than {MAX_ELEMENTS} float64 entries allowed in all"
        raise _Refused(msg)
    return members


def _check_header(stream: IO[bytes], member: str, path: Path) -> int:
    """The number of entries the member's header announces, once its type is one that is read."""
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(stream, max_header_size=_HEADER_BYTES)
    if dtype.hasobject:
        msg = f"{member} in {path} holds Python objects; only numeric arrays are read"
        raise _Refused(msg)
    if dtype.kind not in _KINDS or dtype.itemsize > 8 or dtype.fields is not None:
        msg = (f"{member} in {path} has dtype {dtype}; allowed: booleans, integers and floats of at most 64 bits")
        raise _Refused(msg)
    return math.prod(shape)


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
