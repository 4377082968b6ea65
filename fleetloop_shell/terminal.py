"""What an operator sees: one line per step, a progress bar or a live status line while a step runs, and
everything else (dbt's node lines, Dagster's events and warnings) in one log file per invocation, shown only
when a step fails. When stdout is not a terminal, plain lines without bars or control codes."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fleetloop.settings import Settings
from fleetloop_shell.runner import DayRun, RunRefused, RunWatcher

REFRESHES_PER_S = 4  # the live line's elapsed time counts visibly: never a silent gap
FAILURE_TAIL_LINES = 25  # a failed step's last log lines shown on the terminal ...
FAILURE_EXCERPTS = 2  # ... for this many distinct failures of a run (the others are in the log)
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # dbt colours its lines; excerpts are shown plain
# frames of the standard library and installed packages (Dagster's machinery), left out of failure excerpts
LIBRARY_DIRS = tuple(sorted({sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}))


@dataclass(frozen=True)
class LogFile:
    """The invocation's log: stdout and stderr of everything below the shell end up here."""

    path: Path
    handle: TextIO

    def offset(self) -> int:
        for stream in (sys.stdout, sys.stderr, self.handle):
            stream.flush()
        return self.path.stat().st_size

    def between(self, start: int, end: int) -> str:
        self.offset()
        with self.path.open("rb") as f:
            f.seek(start)
            return f.read(end - start).decode("utf-8", errors="replace")


class Task:
    """A running step's bar (``total`` known) or status line; on a plain stream it shows nothing."""

    def __init__(self, progress: Progress | None, task_id: int | None = None) -> None:
        self.progress, self.task_id = progress, task_id

    def update(self, *, completed: int | None = None, total: int | None = None, description: str | None = None) -> None:
        if self.progress is not None:
            self.progress.update(self.task_id, completed=completed, total=total, description=description)

    def advance(self, description: str | None = None) -> None:
        if self.progress is not None:
            self.progress.update(self.task_id, advance=1, description=description)


class Shell:
    """Timestamped step lines and tasks on the operator's stream; ``log`` holds the detail."""

    def __init__(self, out: TextIO, log: LogFile | None = None) -> None:
        self.console = Console(file=out, highlight=False, soft_wrap=True)
        self.log = log
        self.t0 = time.perf_counter()

    @property
    def live(self) -> bool:
        return self.console.is_terminal

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.t0

    def line(self, text: str) -> None:
        self.console.print(f"[{self.elapsed_s():6.1f} s] {text}", markup=False)

    def block(self, text: str) -> None:
        """Verbatim lines (a table, a failed step's log excerpt)."""
        self.console.print(text, markup=False)

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]:
        """A bar with a count when ``total`` is given, else a pulsing status line, both with the elapsed time."""
        if not self.live:
            yield Task(None)
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
        if total is not None:
            columns.append(MofNCompleteColumn())
        progress = Progress(*columns, TimeElapsedColumn(), console=self.console, transient=True,
                            refresh_per_second=REFRESHES_PER_S, redirect_stdout=False, redirect_stderr=False)
        with progress:
            yield Task(progress, progress.add_task(description, total=total))

    def show_failure(self, title: str, start: int, end: int) -> None:
        """The log lines between two offsets (a failed step's), without the frames of installed libraries."""
        if self.log is not None:
            text = ANSI_ESCAPE.sub("", self.log.between(start, end)).rstrip()
            lines = _own_frames(text.splitlines())[-FAILURE_TAIL_LINES:]
            self.block("\n".join([f"      --- {title}: last {len(lines)} lines of the log ---", *lines, "      ---"]))


def _own_frames(lines: list[str]) -> list[str]:
    """Traceback lines minus the frames (and their source lines) of the interpreter's installed packages."""
    out, skipping, indent = [], False, 0
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith('File "'):
            skipping, indent = stripped[len('File "'):].startswith(LIBRARY_DIRS), len(line) - len(stripped)
        elif skipping and (len(line) - len(stripped) <= indent or not stripped):
            skipping = False
        if not skipping:
            out.append(line)
    return out


def log_path(settings: Settings, verb: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.logs / f"{verb}-{stamp}-{os.getpid()}.log"


@contextlib.contextmanager
def session(settings: Settings, verb: str) -> Iterator[Shell]:
    """A shell whose stdout and stderr (this process's and its children's, dbt's included) go to a new log
    file under ``settings.logs`` while the operator's stream keeps the step lines; the path is printed once,
    at the end (not after a refused run, which prints only the refusal)."""
    from dagster_pipelines.jobs import STEP_LOGGER

    path = log_path(settings, verb)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    refused = False
    with path.open("a", buffering=1, encoding="utf-8") as handle, \
            os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8") as out:
        shell = Shell(out, LogFile(path, handle))
        events = logging.StreamHandler(handle)
        events.setFormatter(logging.Formatter(LOG_FORMAT))
        events.formatter.converter = time.gmtime
        step_logger = logging.getLogger(STEP_LOGGER)
        step_logger.addHandler(events)
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            with contextlib.redirect_stdout(handle), contextlib.redirect_stderr(handle):
                yield shell
        except RunRefused:
            refused = True
            raise
        finally:
            step_logger.removeHandler(events)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if not refused:
                shell.line(f"log (dbt's node lines, Dagster's events and warnings): {path}")

class ShellWatcher(RunWatcher):
    """A day's run as one bar (its steps as they finish, the current one named); one line per day when it
    ends, with the failed steps' log lines when it failed."""

    def __init__(self, shell: Shell) -> None:
        super().__init__(shell.line)
        self.shell = shell
        self.task = Task(None)
        self.label = ""
        self.step_spans: dict[str, tuple[int, int]] = {}  # where each step's lines are in the log

    def stage(self, description: str) -> contextlib.AbstractContextManager:
        return self.shell.task(description)

    @contextlib.contextmanager
    def day(self, index: int, count: int, day: dt.date, steps: int) -> Iterator[None]:
        self.label, self.step_spans = f"[{index}/{count}] {day}", {}
        with self.shell.task(self.label, total=steps) as self.task:
            yield

    def _offset(self) -> int:
        return self.shell.log.offset() if self.shell.log else 0

    def step_started(self, step: str) -> None:
        self.step_spans[step] = (self._offset(), -1)
        self.task.update(description=f"{self.label}: {step.replace('__', '/')}")

    def step_finished(self, step: str) -> None:
        start, _ = self.step_spans.get(step, (0, -1))
        self.step_spans[step] = (start, self._offset())
        self.task.advance()

    def day_finished(self, index: int, count: int, run: DayRun) -> None:
        super().day_finished(index, count, run)
        if not run.ok:
            groups = list(run.failure_groups().values())
            for steps in groups[:FAILURE_EXCERPTS]:
                start, end = self.step_spans.get(steps[0], (0, self._offset()))
                self.shell.show_failure(steps[0].replace("__", "/"), start, end if end >= 0 else self._offset())
            if len(groups) > FAILURE_EXCERPTS:
                self.shell.block(f"      (the lines of {len(groups) - FAILURE_EXCERPTS} more failures are in the log)")
