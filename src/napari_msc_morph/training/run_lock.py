"""One training run per ``--out``: a lock file beside the bundle.

Created with ``O_CREAT | O_EXCL``; a lock of a dead pid on this host is taken over with
a warning, one from another computer is refused with the file to delete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from ..errors import BadInputError

__all__ = ["lock_path", "output_lock"]

logger = logging.getLogger(__name__)


def lock_path(out: str | os.PathLike) -> Path:
    """Where the lock of output ``out`` lives: ``.<name>.lock`` in its folder.

    Beside, not inside: a bundle folder holds only its two files.
    """
    out = Path(out).absolute()
    return out.parent / f".{out.name}.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    owner = {"pid": os.getpid(), "host": socket.gethostname(),
             "started": _dt.datetime.now().isoformat(timespec="seconds")}
    with os.fdopen(fd, "w") as fh:
        json.dump(owner, fh)
    return True


def _owner(lock: Path) -> tuple[dict | None, str]:
    try:
        text = lock.read_text()
    except FileNotFoundError:
        return None, ""
    try:
        owner = json.loads(text)
    except json.JSONDecodeError:
        owner = {}
    return (owner if isinstance(owner, dict) else {}), text


@contextlib.contextmanager
def output_lock(out: str | os.PathLike, job: str = "train") -> Iterator[Path]:
    """Hold the lock of ``out`` for the block; if another run holds it, a BadInputError names it."""
    out = Path(out)
    lock = lock_path(out)
    # a run that fails before writing anything leaves no folder made for its lock
    made = [p for p in (lock.parent, *lock.parent.parents) if not p.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _held(lock, out, job):
            yield lock
    finally:
        for folder in made:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty


@contextlib.contextmanager
def _held(lock: Path, out: Path, job: str) -> Iterator[None]:
    """Create ``lock`` (taking over a stale one) for the block, then remove it if still ours."""
    for _ in range(3):  # a lock can vanish or turn stale between two looks
        if _create(lock):
            break
        owner, text = _owner(lock)
        if owner is None:
            continue  # released just now: try again
        pid, host = owner.get("pid"), owner.get("host")
        local = host == socket.gethostname()
        if isinstance(pid, int) and local and not _pid_alive(pid):
            if _owner(lock)[1] == text:  # still the same stale lock: take it over
                logger.warning("warning: %s was left by a %s run (pid %d) that is no longer "
                               "running; taking it over", lock, job, pid)
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
            continue
        who = (f"pid {pid} on {host}, started {owner.get('started', '?')}" if pid
               else "an unreadable lock")
        raise BadInputError(
            f"another msc-morph {job} is writing to {out} in folder {out.parent.absolute()} "
            f"({who}). Wait for it to finish, or choose another --out. If no run is going on "
            f"(a crash on another computer), delete {lock}."
        )
    else:
        raise BadInputError(f"could not take the lock {lock} for {out}; try again.")
    try:
        yield
    finally:
        owner, _ = _owner(lock)
        if owner and owner.get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
