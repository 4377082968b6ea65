"""One run at a time per warehouse, and a run's process tree ends with it.

Every writer of a warehouse holds ``<warehouse>.lock`` (``fcntl.flock``, exclusive, advisory) for the whole run;
the kernel frees it when the holder's process dies, so a killed run never leaves a stale lock. The holder's pid,
run id and start time are written into the file, and a second run is refused at once with a message naming the
holder; it never waits for or kills the first. A brief reader that must not meet a run half-way (the late-data
sensor reading the landing manifest) takes the same lock for the length of its read; a run that finds such a
reader waits up to ``READ_HOLD_GRACE_S`` for it. Read-only users of the published file take no lock.

``exec_tied`` is what the dbt resource runs (console script ``fleetloop-dbt``): it asks the kernel to SIGKILL the
process when its parent dies (Linux ``PR_SET_PDEATHSIG``), then becomes the real ``dbt``, so killing a run (even
with SIGKILL) never leaves dbt orphaned holding the DuckDB file.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

LOCK_SUFFIX = ".lock"
RUN = "run"  # a run writing the warehouse; any other purpose names a brief reader (e.g. "late-data sensor")
READ_HOLD_GRACE_S = 5.0  # how long a run waits for a brief reader to let go
POLL_S = 0.05
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class RunLockBusy(RuntimeError):
    """The warehouse is held by another run (or a brief reader); the message names the holder."""


@dataclass(frozen=True)
class Holder:
    """Who holds a warehouse's lock: its pid, run id (None for a reader), purpose and start time (UTC)."""

    pid: int
    run_id: str | None
    purpose: str
    since: dt.datetime

    def to_json(self) -> str:
        return json.dumps({"pid": self.pid, "run_id": self.run_id, "purpose": self.purpose,
                           "since": self.since.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        try:
            d = json.loads(text)
            return cls(int(d["pid"]), d.get("run_id"), str(d["purpose"]), dt.datetime.fromisoformat(d["since"]))
        except (ValueError, KeyError, TypeError):
            return None

    def describe(self, warehouse: Path) -> str:
        since = self.since.astimezone(dt.UTC)
        today = dt.datetime.now(dt.UTC).date()
        when = since.strftime("%H:%M:%S UTC" if since.date() == today else "%Y-%m-%d %H:%M:%S UTC")
        if self.purpose == RUN:
            run = f"run {(self.run_id or '?')[:8]}"
            return (f"another fleetloop run (pid {self.pid}, {run}, since {when}) is writing {warehouse}; "
                    "wait for it or stop it")
        return f"a fleetloop reader (pid {self.pid}, {self.purpose}, since {when}) is reading {warehouse}; try again"


def lock_path(warehouse: Path | str) -> Path:
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


class RunLock:
    """The exclusive hold of one warehouse's lock file, from ``acquire`` to ``release``."""

    def __init__(self, warehouse: Path | str) -> None:
        self.warehouse = Path(warehouse)
        self.path = lock_path(warehouse)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, run_id: str | None, purpose: str = RUN) -> RunLock:
        """Take the lock or raise ``RunLockBusy`` naming the holder (a run waits briefly only for a reader)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this process")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + (READ_HOLD_GRACE_S if purpose == RUN else 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if holder is not None and holder.purpose != RUN and time.monotonic() < deadline:
                    time.sleep(POLL_S)
                    continue
                os.close(fd)
                what = holder.describe(self.warehouse) if holder else (
                    f"another fleetloop process is writing {self.warehouse}; wait for it or stop it")
                raise RunLockBusy(what) from None
        data = Holder(os.getpid(), run_id, purpose, dt.datetime.now(dt.UTC)).to_json().encode()
        os.pwrite(fd, data, 0)  # written before truncating: a refused run never reads an empty holder
        os.ftruncate(fd, len(data))
        self._fd = fd
        return self

    def release(self) -> None:
        """Let go (the file stays: removing it would let two processes lock two different files)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor frees the flock


@contextmanager
def holding(warehouse: Path | str, run_id: str | None, purpose: str = RUN) -> Iterator[RunLock]:
    """``RunLock(warehouse)`` held for the ``with`` block."""
    lock = RunLock(warehouse).acquire(run_id, purpose)
    try:
        yield lock
    finally:
        lock.release()


def current_holder(warehouse: Path | str) -> Holder | None:
    """Who holds the lock now, read without taking it (for status displays; a dead holder counts as none)."""
    try:
        holder = Holder.from_json(lock_path(warehouse).read_text())
    except OSError:
        return None
    if holder is None:
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return holder


def _read_holder(fd: int) -> Holder | None:
    return Holder.from_json(os.pread(fd, 4096, 0).decode(errors="replace"))


def exec_tied(argv: list[str]) -> NoReturn:
    """Become ``argv`` (``os.execv``), killed by the kernel when the parent process dies (Linux)."""
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before the tie was made
            sys.exit(f"{argv[0]}: the process that started it has ended")
    os.execv(argv[0], argv)


def tied_dbt() -> NoReturn:
    """Console script ``fleetloop-dbt``: the ``dbt`` installed beside this interpreter, tied to its parent."""
    exec_tied([str(Path(sys.executable).with_name("dbt")), *sys.argv[1:]])
