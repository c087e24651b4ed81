"""Files ner writes: strict JSON (no bare NaN or Infinity) and atomic replacement (a reader sees the old file
or the new one, never half of one)."""

from __future__ import annotations

import glob
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (nan, ±inf) replaced by None, inside dicts, lists and tuples."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def strict_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(finite(obj), allow_nan=False, **kwargs)``: non-finite numbers become null."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` with :func:`atomic_write` (line ends as given)."""
    atomic_write(path, text.encode("utf-8"))


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``: a reader sees
    the old file or the new one, and a failed write leaves the old one and no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_temporaries(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:   # name the file asked for, not the temporary one (or none: a full disk)
        tmp.unlink(missing_ok=True)
        if exc.filename in (None, str(tmp)):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_dead_temporaries(path: Path) -> None:
    """Delete ``.NAME.PID.HEX.tmp`` files that killed writers of ``path`` left (their PID is gone)."""
    prefix = f".{path.name}."
    for tmp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = tmp.name[len(prefix):].split(".")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except (PermissionError, OverflowError):   # alive under another user; not a PID
            pass


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as strict UTF-8 JSON (:func:`strict_dumps`) with :func:`atomic_write_text`."""
    atomic_write_text(path, strict_dumps(obj, indent=indent, ensure_ascii=False) + "\n")
