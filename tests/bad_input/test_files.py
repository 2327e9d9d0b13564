"""Files in and out, whatever the path: nothing lost, nothing followed, nothing read that costs more than it looks.

Outputs go through a unique temporary beside the target, renamed into place
(``files.py``); inputs are checked from their headers before anything is
inflated (``inputs.py``). Each test drives the command line in process, as a
user would, and checks the folder afterwards.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from symbptt import files, inputs
from symbptt.cli.commands import main

from ..helpers import needs_graphviz

KEEP = b"the user's own file\n"


def _input(path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, W_hx=rng.normal(size=(3, 2)), W_hh=rng.normal(size=(3, 3)) / 3, b_h=np.zeros(3),
             W_qh=rng.normal(size=(2, 3)), b_q=np.zeros(2), X=rng.normal(size=(4, 2, 2)), Y=rng.normal(size=(4, 2, 2)))
    return path


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = int(stop.code or 0)
    return code, err.getvalue()


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file() and not p.is_symlink()}


# ------------------------------------------------------------------ outputs


def test_two_concurrent_runs_to_one_output_both_succeed_and_leave_one_whole_result(tmp_path):
    source = _input(tmp_path / "in.npz")
    out = tmp_path / "out.npz"
    runs = [subprocess.Popen([sys.executable, "-m", "symbptt", "grad", str(source), "--cell", "elman",
                              "--backend", "numpy", "--out", str(out)], stderr=subprocess.PIPE) for _ in range(3)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    with np.load(out) as result:
        assert set(result.files) == {"loss", "W_hx", "W_hh", "b_h", "W_qh", "b_q"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "out.npz"]  # no temporary left behind


def test_a_planted_link_and_a_file_named_like_a_temporary_are_never_touched(tmp_path):
    source = _input(tmp_path / "in.npz")
    victim = tmp_path / "victim"
    victim.write_bytes(KEEP)
    (tmp_path / ".out.npz.partial").symlink_to(victim)  # where the temporary used to be written
    (tmp_path / ".out.npz.tmp").write_bytes(KEEP)  # a user's own file of a temporary's name
    code, err = _run(["grad", str(source), "--cell", "elman", "--out", str(tmp_path / "out.npz")])
    assert code == 0, err
    assert victim.read_bytes() == KEEP and (tmp_path / ".out.npz.tmp").read_bytes() == KEEP
    assert (tmp_path / ".out.npz.partial").is_symlink()
    with np.load(tmp_path / "out.npz") as result:
        assert "loss" in result.files


def test_a_link_is_written_through_and_kept(tmp_path):
    source = _input(tmp_path / "in.npz")
    real = tmp_path / "elsewhere" / "g.npz"
    real.parent.mkdir()
    real.write_bytes(KEEP)
    link = tmp_path / "g.npz"
    link.symlink_to(real)
    assert _run(["grad", str(source), "--cell", "elman", "--out", str(link)])[0] == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    with np.load(real) as result:
        assert "loss" in result.files


def _special(tmp_path: Path, kind: str) -> Path:
    target = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of the test's own
    elif kind == "folder":
        target.mkdir()
    elif kind == "link to a device":
        target.symlink_to("/dev/null")
    return target


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "link to a device"])
@pytest.mark.parametrize("verb", [["grad", "{in}", "--cell", "elman"], ["derive"], ["code", "--cell", "gru"],
                                  ["graph"], ["analyze", "alignment", "--steps", "3", "--tex"]])
def test_a_target_that_is_not_a_regular_file_is_refused_never_replaced(tmp_path, kind, verb):
    target = _special(tmp_path, kind)
    before = os.lstat(target)
    source = _input(tmp_path / "in.npz")
    argv = [a.replace("{in}", str(source)) for a in verb]
    argv += [str(target)] if argv[-1] == "--tex" else ["--out", str(target)]
    code, err = _run(argv)
    assert code == 2 and len(err.splitlines()) == 1 and str(target) in err, err
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_the_output_folder_is_checked_before_any_work(tmp_path):
    code, err = _run(["derive", "--cell", "gru", "--out", str(tmp_path / "no" / "such" / "d.tex")])
    assert code == 2 and len(err.splitlines()) == 1
    assert "deriving" not in err and "no such folder" in err and "partial" not in err


def test_messages_name_the_users_path_never_the_temporary(tmp_path, monkeypatch):
    source = _input(tmp_path / "in.npz")
    out = tmp_path / "out.npz"
    out.write_bytes(KEEP)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full_disk)
    code, err = _run(["grad", str(source), "--cell", "elman", "--out", str(out)])
    assert code == 1 and err.splitlines() == [f"symbptt: error: cannot write {out}: No space left on device"]
    assert out.read_bytes() == KEEP and sorted(p.name for p in tmp_path.iterdir()) == ["in.npz", "out.npz"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt, MemoryError, OSError])
def test_a_failure_half_way_through_a_write_leaves_the_old_file_whole(tmp_path, monkeypatch, failure):
    """Each writer, failing after it has written part of its output: a direct write would leave half a file."""
    writers = {
        "npz": lambda path: files.write_npz(path, {"a": np.ones(3)}),
        "text": lambda path: files.write_text(path, "new text"),
        "bytes": lambda path: files.write_bytes(path, b"new bytes"),
        "document": lambda path: files.write_document(path, "new document", None),
    }
    for name, write in writers.items():
        target = tmp_path / f"{name}.out"
        target.write_bytes(KEEP)
        real_fsync = os.fsync

        def fail_after_writing(fd, real_fsync=real_fsync):
            real_fsync(fd)
            raise failure(errno.EIO, "interrupted") if failure is OSError else failure()

        monkeypatch.setattr(os, "fsync", fail_after_writing)
        with pytest.raises(failure):
            write(target)
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert target.read_bytes() == KEEP, name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.out" for n in writers)


def test_ctrl_c_on_the_command_line_is_one_line_and_no_file(tmp_path, monkeypatch):
    source = _input(tmp_path / "in.npz")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupt)
    code, err = _run(["grad", str(source), "--cell", "elman", "--out", str(tmp_path / "out.npz")])
    assert code == 130 and len(err.splitlines()) == 1 and "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz"]


def test_several_outputs_are_written_all_or_none(tmp_path, monkeypatch):
    """analyze alignment writes a PNG, an SVG and --tex: the SVG failing leaves none of the three."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    real = Figure.savefig

    def no_svg(self, fname, *args, **kwargs):
        if kwargs.get("format") == "svg":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", no_svg)
    (tmp_path / "fig.png").write_bytes(KEEP)
    code, err = _run(["analyze", "alignment", "--steps", "3", "--out", str(tmp_path / "fig"),
                      "--tex", str(tmp_path / "proof.tex")])
    assert code == 1 and len(err.splitlines()) == 1 and "fig.svg" in err
    assert _folder(tmp_path) == {"fig.png": KEEP}


def test_a_pdf_beside_the_document_is_checked_first(tmp_path):
    (tmp_path / "d.pdf").mkdir()
    code, err = _run(["derive", "--out", str(tmp_path / "d.tex"), "--pdf"])
    assert code == 2 and "d.pdf" in err and "deriving" not in err
    assert not (tmp_path / "d.tex").exists()


@needs_graphviz
def test_binary_output_to_a_terminal_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["graph", "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--format png is binary" in err


@pytest.mark.parametrize("stdout", ["closed", "/dev/full"])
def test_a_closed_or_full_standard_output_is_one_line(stdout):
    redirect = "exec 1>&-" if stdout == "closed" else "exec 1>/dev/full"
    run = subprocess.run(["bash", "-c", f'{redirect}; "{sys.executable}" -m symbptt code --cell elman'],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1, run.stderr
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("symbptt: error: "), run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr


def test_a_broken_pipe_is_one_line():
    script = f'"{sys.executable}" -m symbptt derive --steps 20 | head -c 10 > /dev/null'
    run = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120,
                         check=False)
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr
    assert all(line.startswith("symbptt: ") for line in run.stderr.splitlines())


def test_a_new_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
    fresh = tmp_path / "new.txt"
    files.write_text(fresh, "x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~mask
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    files.write_text(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"


# ------------------------------------------------------------------ inputs


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header_only(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize(("members", "named"), [
    ({"X.npy": _npy(np.zeros(3)), "../Y.npy": _npy(np.zeros(3))}, "'../Y.npy'"),
    ({"X.npy": _npy(np.zeros(3)), "a/Y.npy": _npy(np.zeros(3))}, "'a/Y.npy'"),
    ({"X": _npy(np.zeros(3))}, "'X'"),
    ({"X.txt": b"1 2 3"}, "'X.txt'"),
    ({"/etc/X.npy": _npy(np.zeros(3))}, "'/etc/X.npy'"),
    ({"X.npy": _npy(np.zeros(3, dtype=complex))}, "complex128"),
    ({"X.npy": _npy(np.zeros(3, dtype=np.longdouble))}, "X.npy"),
    ({"X.npy": _npy(np.zeros(3, dtype="datetime64[s]"))}, "datetime64"),
    ({"X.npy": _npy(np.zeros(3, dtype="timedelta64[s]"))}, "timedelta64"),
    ({"X.npy": _npy(np.array(["a"]))}, "<U1"),
    ({"X.npy": _npy(np.zeros(3, dtype=[("a", "<f8")]))}, "X.npy"),
    # together more than the limit, though each member is within it
    ({"X.npy": _header_only((2**26 + 1,)), "Y.npy": _header_only((2**26 + 1,))}, "all its arrays together"),
])
def test_an_input_archive_is_refused_naming_the_member(tmp_path, members, named):
    path = _zip(tmp_path / "in.npz", members)
    with pytest.raises(ValueError, match=r"\S") as caught:
        inputs.read_npz(path)
    message = str(caught.value)
    assert "\n" not in message and named in message, message


def test_two_members_of_one_name_are_refused(tmp_path):
    path = tmp_path / "in.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", _npy(np.zeros(3)))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("X.npy", _npy(np.ones(3)))
    with pytest.raises(ValueError, match="two members named 'X.npy'"):
        inputs.read_npz(path)


@pytest.mark.slow  # compressing the bomb takes seconds
def test_a_compressed_bomb_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    """6·10^7 zeros compress to a few hundred KB: the declared sizes are read, nothing is inflated."""
    big = np.zeros(6 * 10**7 // 8)  # 7.5 million entries: the file itself is small
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, X=big, Y=big, h0=big, c0=big, xi=big, W_hx=big, W_hh=big, b_h=big, W_qh=big,
                        b_q=big, W_xh=big, W_x=big, W_y=big, W_z=big, W_w=big, W_v=big, W_u=big, W_t=big)
    assert path.stat().st_size < 5 * 2**20
    monkeypatch.setattr(inputs, "MAX_ELEMENTS", 10**8)
    read = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: read.append(1) or real(*a, **k))
    with pytest.raises(ValueError, match="more than (the )?100000000"):
        inputs.read_npz(path)
    assert not read  # no array was read, let alone allocated


def test_an_unreadable_file_is_called_unreadable(tmp_path, monkeypatch):
    path = _input(tmp_path / "in.npz")

    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ValueError, match=r"cannot read .*in\.npz: Permission denied$"):
        inputs.read_npz(path)


@pytest.mark.parametrize("special", ["fifo", "folder", "/dev/zero"])
def test_an_input_that_is_not_a_regular_file_is_refused_before_it_is_opened(tmp_path, special):
    path = Path(special) if special.startswith("/") else _special(tmp_path, special)
    for read in (inputs.read_npz, lambda p: inputs.read_text(p, 4000)):
        with pytest.raises(ValueError, match="is not a"):
            read(path)


def test_a_text_input_is_read_up_to_its_bound_and_no_further(tmp_path):
    path = tmp_path / "cell.txt"
    path.write_text("h = tanh(W @ h)\n" + "#" * 10**6)
    with pytest.raises(ValueError, match="holds more than 4000 characters"):
        inputs.read_text(path, 4000)
    path.write_text("é" * 4000)  # two bytes a character, within the bound
    assert inputs.read_text(path, 4000) == "é" * 4000


def test_the_command_line_reads_an_archive_in_one_line(tmp_path):
    path = _zip(tmp_path / "in.npz", {"X.npy": _npy(np.zeros((2, 1, 1))), "../W_hh.npy": _npy(np.zeros((1, 1)))})
    code, err = _run(["grad", str(path), "--cell", "elman", "--out", str(tmp_path / "g.npz")])
    assert code == 1 and len(err.splitlines()) == 1 and "'../W_hh.npy'" in err
    assert not (tmp_path / "g.npz").exists()


def test_no_temporary_is_left_when_many_writers_race(tmp_path):
    target = tmp_path / "t.txt"
    errors = []

    def write(i):
        try:
            files.write_text(target, f"writer {i}\n" * 1000)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    text = target.read_text()
    assert len(set(text.splitlines())) == 1 and len(text.splitlines()) == 1000
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]
