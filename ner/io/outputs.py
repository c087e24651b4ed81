"""Where ``ner`` may write, and how: it replaces only what it wrote, checks every output before the work
starts, lets one process at a time write an output, and swaps finished folders in crash-safely.

A folder output is *owned* by ``ner`` when it is empty or holds its mark: ``bundle.json`` for a model
bundle (with no names besides a bundle's files), :data:`MARK` for other folders (compare reports,
converted corpora); a folder written in place file by file (tagged outputs) lists them in its mark
(:func:`record_outputs`, :func:`remove_stale`). A folder is written whole into ``.NAME.tmp-*`` beside it,
then swapped in: one atomic exchange of the two folders where the system supports it (Linux ``renameat2``),
else two renames whose gap :func:`restore` closes on the next command that reads or writes the path. The
lock is ``.NAME.lock`` beside the output, held with ``flock``: the OS releases it when its holder dies.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ner import __version__
from ner.errors import NerError
from ner.io.files import atomic_write_text

MARK = ".ner-output.json"
BUNDLE_MARK = "bundle.json"
BUNDLE_FILES = frozenset({"bundle.json", "model.keras", "weights.npz", "vocab.json", "config.json",
                          "history.json", "metrics.json"})
PROBE = ".ner-probe-"   # a named probe file a kill left behind (where O_TMPFILE is missing)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2

_held: dict[Path, int] = {}   # outputs whose lock this process holds -> the lock's file descriptor


def safe_name(value: object, what: str) -> str:
    """``value`` if it can name one entry of an output folder (no separator, no leading dot, no ``..``)."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value) or ".." in value:
        raise NerError(f"{what}: {value!r} cannot name a file or folder (letters, digits and . _ + - only, "
                       "not starting with a dot)")
    return value


def _fail(path, why: str, flag: str | None) -> NerError:
    return NerError(f"{flag + ': ' if flag else ''}{path}: {why}")


def _target(path, flag: str | None = None) -> Path:
    """``path`` absolute, links resolved; refuses paths that name no entry (``/``)."""
    if path is None or str(path) == "":
        raise NerError(f"{flag or 'output'}: no path given")
    target = Path(path).resolve()
    if target.name == "":
        raise _fail(target, "cannot be an output", flag)
    return target


def check_inputs(out: Path, inputs: Iterable, flag: str | None, same_ok: str | os.PathLike | None = None) -> None:
    """Refuse an output that is, holds or lies inside one of the command's ``inputs``; ``same_ok`` may be
    the output itself (``ner train --init X --out X``)."""
    for item in inputs:
        if not item or str(item).startswith("hf:") or not os.path.lexists(item):
            continue
        source = Path(item).resolve()
        if out == source and same_ok is not None and Path(same_ok).resolve() == out:
            continue
        if out == source:
            why = "is"
        elif out in source.parents:
            why = "holds"
        elif source.is_dir() and source in out.parents:
            why = "is inside"
        else:
            continue
        raise _fail(out, f"{why} an input of this command ({item}); choose another output", flag)


def _probe(folder: Path, flag: str | None) -> None:
    """Create a file in ``folder`` to prove it writable (``os.access`` says yes to root): an unnamed one
    (``O_TMPFILE``) that a kill cannot leave behind where the system has it, else a named one."""
    try:
        if hasattr(os, "O_TMPFILE"):
            try:
                os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
                return
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR):   # EISDIR: a kernel without it
                    raise
        name = folder / f"{PROBE}{os.getpid()}-{secrets.token_hex(4)}"
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        name.unlink(missing_ok=True)
    except OSError as exc:
        raise _fail(folder, f"cannot write here ({exc.strerror})", flag) from None


def _make_parent(out: Path, flag: str | None) -> None:
    """Create the folders above ``out`` (the user asked for a path under them)."""
    existing = next(p for p in out.parents if os.path.lexists(p))
    if not existing.is_dir():
        raise _fail(existing, "is a file, not a folder", flag)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(exc.filename or out.parent, f"cannot create the folder ({exc.strerror})", flag) from None


def check_file(path: str | os.PathLike | None, flag: str, inputs: Iterable = (), overwrite: bool = False) -> Path:
    """Check that ``path`` can take an output file before the work starts; returns it resolved.

    An existing file is replaced only with ``overwrite`` (``--overwrite``: ner cannot tell a file it wrote);
    a folder, a device, an input, or a place inside a model bundle is refused.
    """
    out = _target(path, flag)
    check_inputs(out, inputs, flag)
    if os.path.lexists(out) and not out.is_file():
        raise _fail(out, "exists and is not a regular file", flag)
    if out.is_file() and not overwrite:
        raise _fail(out, "exists; give --overwrite to replace it", flag)
    if (out.parent / BUNDLE_MARK).is_file():
        raise _fail(out, "is inside a model bundle; choose another place", flag)
    _make_parent(out, flag)
    _probe(out.parent, flag)
    return out


# ---------------------------------------------------------------- ownership and leftovers

def _foreign(out: Path, mark: str, legacy: Callable[[list[str]], bool] | None) -> list[str] | None:
    """Names in folder ``out`` that ner did not write (None: ``out`` is not a folder)."""
    if out.is_symlink() or not out.is_dir():
        return None
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith(PROBE))
    if mark == BUNDLE_MARK and mark in names:
        return [n for n in names if n not in BUNDLE_FILES]
    if mark in names:
        written = _read_mark(out).get("files")   # a folder ner replaces whole lists what it wrote
        return [] if written is None else [n for n in names if n != MARK and n not in written]
    if legacy is not None and legacy(names):
        return []
    return names


def _read_mark(out: Path) -> dict:
    try:
        mark = json.loads((out / MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": []}   # unreadable: trust no file in the folder
    return mark if isinstance(mark, dict) and isinstance(mark.get("files", []), list) else {"files": []}


def _leftovers(out: Path) -> list[Path]:
    """Temporary and backup folders of earlier writes to ``out`` (``.NAME.tmp-*``, ``.NAME.old-*``)."""
    prefixes = (f".{out.name}.tmp-", f".{out.name}.old-")
    try:
        return sorted(p for p in out.parent.iterdir()
                      if p.name.startswith(prefixes) and p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def _recover(out: Path, mark: str) -> None:
    """Under the lock: put a complete leftover back under ``out`` if it is missing (the newest write
    first), then delete every leftover."""
    leftovers = _leftovers(out)
    if not os.path.lexists(out):
        complete = [p for p in leftovers if (p / mark).is_file()]   # the mark is written last
        complete.sort(key=lambda p: ".old-" in p.name)             # a finished new folder before the old
        if complete:
            os.rename(complete[0], out)
            leftovers.remove(complete[0])
    for p in leftovers:
        shutil.rmtree(p, ignore_errors=True)


def restore(path: str | os.PathLike, mark: str = BUNDLE_MARK) -> None:
    """Before reading ``path``: if a killed write left it missing, put the complete folder back.

    Does nothing while another live process holds the output's lock (it finishes its own swap)."""
    out = Path(path).resolve()
    if os.path.lexists(out) or not _leftovers(out):
        return
    try:
        with _locked(out, None):
            _recover(out, mark)
    except NerError:
        pass


# ---------------------------------------------------------------- one writer per output

@contextmanager
def _locked(out: Path, flag: str | None) -> Iterator[None]:
    if out in _held:
        yield
        return
    lock = out.parent / f".{out.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _fail(out.parent, f"cannot write here ({exc.strerror})", flag) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise _fail(out, f"another ner process (pid {holder}) is writing it; wait for it to end", flag) from None
        try:
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino   # not unlinked by a releasing holder
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held[out] = fd
    try:
        yield
    finally:
        del _held[out]
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        os.close(fd)


@contextmanager
def claim(path: str | os.PathLike | None, mark: str = BUNDLE_MARK, *, flag: str | None = None, inputs: Iterable = (),
          same_ok: str | os.PathLike | None = None, legacy: Callable[[list[str]], bool] | None = None,
          kind: str | None = None) -> Iterator[Path]:
    """Hold folder output ``path`` for this process: checked (not an input, owned by ner or empty,
    writable), leftovers of killed writes cleaned, locked against other writers until the block ends.

    ``legacy(names)``: whether an unmarked folder holding ``names`` was written by an older ner; ``kind``: what
    the caller keeps in a :data:`MARK` folder (:func:`mark_folder`): a folder marked as another kind is refused.
    Yields the resolved path.
    """
    out = _target(path, flag)
    check_inputs(out, inputs, flag, same_ok)
    _make_parent(out, flag)
    with _locked(out, flag):
        _recover(out, mark)
        if os.path.lexists(out):
            foreign = _foreign(out, mark, legacy)
            if foreign is None:
                raise _fail(out, "exists and is not a folder; ner writes only into new or empty folders or "
                                 "ones it wrote", flag)
            other = None
            if mark != BUNDLE_MARK and BUNDLE_MARK in foreign:
                other = "a model bundle"
            elif (mark == BUNDLE_MARK and MARK in foreign
                  or kind is not None and (out / MARK).is_file() and _read_mark(out).get("kind", kind) != kind):
                other = f"another kind of ner output ({_read_mark(out).get('kind', 'unknown')})"
            if other:
                raise _fail(out, f"is {other}; choose another folder", flag)
            if foreign:
                shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise _fail(out, f"holds files ner did not write ({shown}); ner writes only into new or empty "
                                 "folders or ones it wrote", flag)
            _probe(out, flag)
        _probe(out.parent, flag)
        yield out


def mark_folder(out: Path, kind: str, files: list[str] | None = None) -> None:
    """Create folder ``out`` if needed and write :data:`MARK` into it (``kind``: what ner keeps there;
    ``files``: every name ner wrote, for a folder it replaces whole: a rerun refuses to delete others). The
    outputs an earlier run recorded (:func:`record_outputs`) stay recorded."""
    earlier = _read_mark(out).get("outputs") if (out / MARK).is_file() else None
    out.mkdir(mode=0o777, exist_ok=True)
    mark = {"written_by": "ner", "version": __version__, "kind": kind}
    if isinstance(earlier, dict):
        mark["outputs"] = earlier
    _write_mark(out, mark if files is None else {**mark, "files": sorted(files)})


def _write_mark(out: Path, mark: dict) -> None:
    """ASCII JSON, so that file names that are not valid UTF-8 (kept as surrogates) read back the same."""
    atomic_write_text(out / MARK, json.dumps(mark, ensure_ascii=True, allow_nan=False) + "\n")


def remove_stale(out: Path, source: str, outputs: Iterable[str]) -> tuple[list[str], list[str]]:
    """Delete the files an earlier run recorded in the :data:`MARK` of folder ``out`` (a folder ner writes in
    place, file by file; :func:`record_outputs`) for input ``source`` that this run will not write (relative
    paths ``outputs``), so that the outputs mirror the input as it is now. Never touched: files ner did not
    record, files recorded for another input, files changed since ner wrote them, and paths that leave ``out``
    or pass through a symbolic link. Returns (deleted paths, kept ones)."""
    records = _read_mark(out).get("outputs")
    earlier = records.get(source) if isinstance(records, dict) and isinstance(records.get(source), dict) else {}
    current = set(outputs)
    deleted, kept = [], []
    for rel in sorted(r for r in earlier if isinstance(r, str) and r not in current and _owned_file(out, r)):
        if _stamp(out / rel) != earlier[rel]:
            kept.append(rel)
            continue
        try:
            (out / rel).unlink()
            parent = (out / rel).parent
            while parent != out and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        except OSError:
            kept.append(rel)
            continue
        deleted.append(rel)
    return deleted, kept


def record_outputs(out: Path, source: str, outputs: Iterable[str]) -> None:
    """Record in the :data:`MARK` of folder ``out`` the files this run wrote there for input ``source``
    (relative paths, each with its size and SHA-256), replacing the input's earlier record; another input's
    record keeps only the files this run did not write."""
    mark = _read_mark(out)
    records = mark.get("outputs") if isinstance(mark.get("outputs"), dict) else {}
    current = {rel: _stamp(out / rel) for rel in sorted(set(outputs))}
    records = {k: {r: v for r, v in rs.items() if r not in current} for k, rs in records.items()
               if k != source and isinstance(rs, dict)}
    _write_mark(out, {**mark, "outputs": {**records, source: current}})


def _stamp(path: Path) -> list:
    """[size in bytes, SHA-256 hex digest] of file ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return [path.stat().st_size, digest.hexdigest()]


def _owned_file(out: Path, rel: str) -> bool:
    """``rel`` names a regular file strictly under ``out``: no absolute path, no ``..``, not the mark, and no
    symbolic link on the way."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts or rel == MARK:
        return False
    path = out
    for part in parts:
        path = path / part
        if path.is_symlink():
            return False
    return path.is_file()


# ---------------------------------------------------------------- the swap

def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; False where the system or file system cannot."""
    rename = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if rename is None:
        return False
    rename.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if rename(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_folder(path: str | os.PathLike, fill: Callable[[Path], None], mark: str = BUNDLE_MARK) -> Path:
    """Write a folder with ``fill(folder)``, which writes ``mark`` last, and put it under ``path``.

    At every instant ``path`` is the old or the new complete folder (with two renames instead of an
    exchange, :func:`restore` closes the gap after a kill). Claims ``path`` unless this process holds it.
    """
    out = Path(path).resolve()
    if out not in _held:
        with claim(out, mark):
            return replace_folder(out, fill, mark)
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    os.mkdir(tmp, 0o777)   # the user's umask applies (tempfile.mkdtemp would make it 0700)
    old = None
    try:
        fill(tmp)
        if not (tmp / mark).is_file():
            raise RuntimeError(f"{tmp}: fill wrote no {mark}")
        if not os.path.lexists(out):
            os.rename(tmp, out)
        elif _exchange(tmp, out):
            shutil.rmtree(tmp)   # now the old folder
        else:
            old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
    except BaseException:
        if old is not None and not os.path.lexists(out) and os.path.lexists(old):
            os.rename(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
