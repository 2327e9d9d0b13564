"""The command line's outputs, written whole or not at all (its inputs: :mod:`symbptt.inputs`).

An output is written to a temporary file of a unique name beside its target
(created exclusively, so a link planted there is never followed and no file
of the user's is ever touched), then renamed onto the target: a failure, a
full disk or Ctrl-C leaves no partial file and an existing file intact, and
two concurrent runs each install one complete result. A target that is a
symbolic link is written through to the file it names, keeping the link; one
that is not a regular file (a folder, a device such as ``/dev/null``, a FIFO)
is refused, never replaced. Outputs made together (a document and its PDF, a
figure's PNG and SVG) are renamed into place only when all are made. Standard
output is flushed where it is written, so a closed pipe or a full disk is one
line on the command line, not a traceback at exit.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

from symbptt.inputs import file_kind

Writer = Callable[[BinaryIO], object]


# ------------------------------------------------------------------ outputs


def target(path: Path) -> Path:
    """The file an output to ``path`` replaces (a symbolic link followed), checked before any work is done.

    A ValueError of one line, naming the user's path, if its folder does not exist or cannot be written, or if
    it names something other than a regular file.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    folder = path.parent if str(path.parent) else Path(".")
    if not real.parent.is_dir():
        msg = f"cannot write {path}: no such folder {folder}"
        raise ValueError(msg)
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or type(exc).__name__}"
        raise ValueError(msg) from None
    if mode is not None and not stat.S_ISREG(mode):
        msg = f"cannot write {path}: it is {file_kind(mode)}, which is never replaced; name a regular file"
        raise ValueError(msg)
    if not os.access(real.parent, os.W_OK):
        msg = f"cannot write {path}: the folder {folder} is not writable"
        raise ValueError(msg)
    return real


def write_all(outputs: Mapping[Path, Writer]) -> None:
    """Each ``write(stream)`` into a temporary beside its target; all renamed into place only once all are made."""
    targets = {Path(path): target(path) for path in outputs}
    if len(set(targets.values())) < len(targets):
        msg = f"two outputs name one file: {', '.join(str(p) for p in targets)}"
        raise ValueError(msg)
    made: list[tuple[Path, Path]] = []
    current = next(iter(targets), Path())
    try:
        for current, write in outputs.items():
            made.append((_temporary(targets[Path(current)], write), targets[Path(current)]))
        for temporary, real in made:
            os.replace(temporary, real)
    except OSError as exc:
        msg = f"cannot write {current}: {exc.strerror or exc}"
        raise OSError(msg) from None
    finally:
        for temporary, _ in made:
            temporary.unlink(missing_ok=True)


def _temporary(real: Path, write: Writer) -> Path:
    """A new file of a unique name beside ``real``, holding what ``write`` wrote, flushed to the disk."""
    handle, name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".partial")
    temporary = Path(name)
    try:
        os.fchmod(handle, _mode(real))
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:  # Ctrl-C too: no partial file is left
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _mode(real: Path) -> int:
    """The permissions of the file replaced, or those a new file gets (0666 less the umask)."""
    try:
        return stat.S_IMODE(real.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def holding(data: bytes) -> Writer:
    """The writer of an output whose bytes are made already (a text, a PDF, a figure's PNG)."""
    return lambda stream: stream.write(data)


def write_text(path: Path, text: str) -> None:
    write_all({path: holding(text.encode("utf-8"))})


def write_bytes(path: Path, data: bytes) -> None:
    write_all({path: holding(data)})


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    write_all({path: lambda stream: np.savez(stream, **arrays)})  # type: ignore[arg-type]  # **kwds typed as bool


def write_document(path: Path, text: str, make_pdf: Callable[[Path], Path] | None) -> Path | None:
    """The .tex (and, with ``make_pdf``, its PDF beside it) made in a scratch folder, then both moved in together.

    If the TeX run fails, neither file is touched: an existing document survives.
    """
    pdf_path = path.with_suffix(".pdf")
    if make_pdf is not None and target(pdf_path) == target(path):
        msg = f"--pdf writes {pdf_path} beside the document: name the document FILE.tex, not {path.name}"
        raise ValueError(msg)
    with tempfile.TemporaryDirectory(prefix="symbptt-document-") as scratch:
        tex = Path(scratch) / f"{path.stem}.tex"
        tex.write_text(text, encoding="utf-8")
        outputs: dict[Path, Writer] = {path: holding(text.encode("utf-8"))}
        if make_pdf is not None:
            outputs[pdf_path] = holding(make_pdf(tex).read_bytes())
        write_all(outputs)
    return pdf_path if make_pdf is not None else None


def to_stdout(data: str | bytes) -> None:
    """Text or bytes on standard output, flushed here: a closed stream is a BrokenPipeError, a full one an
    OSError of one line, and nothing more is flushed at exit."""
    if sys.stdout is None:  # started with standard output closed
        raise BrokenPipeError
    try:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        raise
    except UnicodeEncodeError as exc:  # PYTHONIOENCODING=ascii, a C locale: nothing was written
        msg = (f"standard output's encoding ({exc.encoding}) cannot hold this text: set PYTHONIOENCODING=utf-8, or "
               "write it to a file with --out")
        raise ValueError(msg) from None
    except OSError as exc:  # a full disk, say
        silence_stdout()
        msg = f"cannot write to standard output: {exc.strerror or exc}"
        raise OSError(msg) from None


def silence_stdout() -> None:
    """Point standard output at /dev/null: Python's flush at exit would otherwise report the same failure again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass
