"""Start and stop background processes exactly, tracked by pid files in a state directory.

Each process runs in its own session (so its process group can be signalled as a whole), logs to
``<state_dir>/<name>.log`` and is recorded in ``<state_dir>/<name>.pid`` together with its kernel start
time.  A later Supervisor on the same directory -- possibly in another process, after a crash -- can
therefore stop exactly what was started and never a recycled pid that now belongs to something else.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PID_SUFFIX = ".pid"
PORTS_SUFFIX = ".ports.json"
LOG_SUFFIX = ".log"
LOCK_NAME = ".lock"
_POLL_S = 0.02


class SupervisorError(RuntimeError):
    """Base error for process supervision."""


class StateDirLocked(SupervisorError):
    """Another supervisor (e.g. a concurrent `demo up`) holds the state dir lock."""


class AlreadyRunning(SupervisorError):
    """A live process is already recorded under this name."""


class StartFailed(SupervisorError):
    """The process exited, or never became ready, during start."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n--- log tail ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class ProcessIdentity:
    """What identifies one started process beyond its (recyclable) pid."""

    pid: int
    start_ticks: int | None  # field 22 of /proc/<pid>/stat: start time in clock ticks since boot
    boot_id: str | None
    argv: tuple[str, ...]

    def matches_live_process(self) -> bool:
        """True if the pid is running and is still the very process that was started."""
        if _boot_id() != self.boot_id:
            return False
        stat = _read_proc_stat(self.pid)
        if stat is None:
            return _matches_without_proc(self.pid, self.argv)
        if stat.state in ("Z", "X"):
            return False
        return self.start_ticks is not None and stat.start_ticks == self.start_ticks


@dataclass
class ManagedProcess:
    """A process started by a Supervisor."""

    name: str
    pid: int
    argv: tuple[str, ...]
    started_at: float
    log_path: Path
    pid_path: Path
    identity: ProcessIdentity
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def alive(self) -> bool:
        if self._popen is not None and self._popen.poll() is not None:
            return False
        return self.identity.matches_live_process()

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()


@dataclass(frozen=True)
class ProcessStatus:
    """One row of `Supervisor.status()`."""

    name: str
    pid: int
    alive: bool
    argv: tuple[str, ...]
    started_at: float
    log_path: Path
    ports: dict[str, int]


class Supervisor:
    """Starts named processes and stops exactly those, across supervisor instances and processes."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self._popens: dict[str, subprocess.Popen[bytes]] = {}

    # ----- paths -------------------------------------------------------------------------------
    def pid_path(self, name: str) -> Path:
        return self.state_dir / f"{_checked_name(name)}{PID_SUFFIX}"

    def log_path(self, name: str) -> Path:
        return self.state_dir / f"{_checked_name(name)}{LOG_SUFFIX}"

    def ports_path(self, name: str) -> Path:
        return self.state_dir / f"{_checked_name(name)}{PORTS_SUFFIX}"

    # ----- lock --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, timeout: float = 10.0) -> Iterator[None]:
        """Hold the state dir lock (re-entrant within this object); other holders make us wait."""
        if self._lock_depth == 0:
            self._acquire_lock(timeout)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._release_lock()

    def _acquire_lock(self, timeout: float) -> None:
        lock_path = self.state_dir / LOCK_NAME
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_text(lock_path).strip() or "unknown"
                    os.close(fd)
                    raise StateDirLocked(
                        f"state dir {self.state_dir} is locked by pid {holder}") from None
                time.sleep(_POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # ----- start -------------------------------------------------------------------------------
    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        ready: Callable[[], bool] | None = None,
        timeout: float = 10.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> ManagedProcess:
        """Start `argv` in its own session; `env` entries are added to the current environment.

        Waits until `ready()` is true (if given). If the process exits first or `timeout` passes,
        it is stopped and StartFailed carries the tail of its log.
        """
        with self.locked():
            existing = self._read_record(name)
            if existing is not None:
                if existing.identity.matches_live_process():
                    raise AlreadyRunning(f"{name} is already running as pid {existing.pid}")
                self._forget(name)
            log_path = self.log_path(name)
            full_env = {**os.environ, **(env or {})}
            with open(log_path, "wb") as log:
                popen = subprocess.Popen(
                    list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=full_env, cwd=cwd, start_new_session=True, close_fds=True)
            stat = _read_proc_stat(popen.pid)
            identity = ProcessIdentity(
                pid=popen.pid, start_ticks=stat.start_ticks if stat else None,
                boot_id=_boot_id(), argv=tuple(argv))
            process = ManagedProcess(
                name=name, pid=popen.pid, argv=tuple(argv), started_at=time.time(),
                log_path=log_path, pid_path=self.pid_path(name), identity=identity, _popen=popen)
            self._popens[name] = popen
            self._write_record(process)
        self._wait_ready(process, popen, ready, timeout)
        return process

    def _wait_ready(self, process: ManagedProcess, popen: subprocess.Popen[bytes],
                    ready: Callable[[], bool] | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = popen.poll()
            if code is not None:
                self.stop(process.name)
                raise StartFailed(f"{process.name} exited with code {code} during start",
                                  _tail(process.log_path))
            if ready is None or ready():
                return
            if time.monotonic() >= deadline:
                self.stop(process.name)
                raise StartFailed(f"{process.name} was not ready within {timeout:g} s",
                                  _tail(process.log_path))
            time.sleep(_POLL_S)

    # ----- records -----------------------------------------------------------------------------
    def record_ports(self, name: str, ports: Mapping[str, int]) -> None:
        """Store labelled ports beside the pid file (merged with ports already recorded)."""
        path = self.ports_path(name)
        merged = {**self.ports(name), **{str(k): int(v) for k, v in ports.items()}}
        _write_json_atomic(path, merged)

    def ports(self, name: str) -> dict[str, int]:
        data = _read_json(self.ports_path(name), {})
        return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def names(self) -> list[str]:
        """Names with a readable pid file, oldest start first."""
        records = [r for r in map(self._read_record, self._pid_file_names()) if r is not None]
        return [r.name for r in sorted(records, key=lambda r: r.started_at)]

    def _pid_file_names(self) -> list[str]:
        return sorted(p.name[: -len(PID_SUFFIX)] for p in self.state_dir.glob(f"*{PID_SUFFIX}")
                      if not p.name.startswith("."))

    def status(self) -> list[ProcessStatus]:
        rows = []
        for name in self.names():
            record = self._read_record(name)
            if record is None:
                continue
            rows.append(ProcessStatus(
                name=name, pid=record.pid, alive=record.identity.matches_live_process(),
                argv=record.argv, started_at=record.started_at, log_path=record.log_path,
                ports=self.ports(name)))
        return rows

    def _write_record(self, process: ManagedProcess) -> None:
        _write_json_atomic(process.pid_path, {
            "name": process.name,
            "pid": process.pid,
            "pgid": process.pid,  # start_new_session makes the child its own group and session leader
            "argv": list(process.argv),
            "started_at": process.started_at,
            "start_ticks": process.identity.start_ticks,
            "boot_id": process.identity.boot_id,
            "log": str(process.log_path),
            "supervisor_pid": os.getpid(),
        })

    def _read_record(self, name: str) -> ManagedProcess | None:
        path = self.pid_path(name)
        data = _read_json(path, None)
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        argv = tuple(str(a) for a in data.get("argv", []))
        identity = ProcessIdentity(pid=data["pid"], start_ticks=data.get("start_ticks"),
                                   boot_id=data.get("boot_id"), argv=argv)
        return ManagedProcess(
            name=name, pid=data["pid"], argv=argv, started_at=float(data.get("started_at", 0.0)),
            log_path=Path(data.get("log", self.log_path(name))), pid_path=path, identity=identity,
            _popen=self._popens.get(name))

    def _forget(self, name: str) -> None:
        for path in (self.pid_path(name), self.ports_path(name)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        popen = self._popens.pop(name, None)
        if popen is not None:
            popen.poll()  # reap if it already exited

    # ----- stop --------------------------------------------------------------------------------
    def stop(self, name: str, timeout: float = 5.0) -> bool:
        """Stop the named process group; True if a live process of ours was signalled."""
        return name in self._stop_names([name], timeout)

    def stop_all(self, timeout: float = 5.0) -> list[str]:
        """Stop every recorded process (SIGTERM together, then SIGKILL leftovers); names stopped."""
        with self.locked():
            unreadable = sorted(set(self._pid_file_names()) - set(self.names()))
            return self._stop_names(list(reversed(self.names())) + unreadable, timeout)

    def _stop_names(self, names: list[str], timeout: float) -> list[str]:
        with self.locked():
            ours: list[ManagedProcess] = []
            for name in names:
                record = self._read_record(name)
                if record is None:
                    self._forget(name)
                elif record.identity.matches_live_process():
                    ours.append(record)
                else:
                    # Dead or recycled pid: only the stale record goes, nothing is signalled.
                    self._forget(name)
            for record in ours:
                _signal_group(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            pending = list(ours)
            while pending and time.monotonic() < deadline:
                pending = [r for r in pending if not _exited(r)]
                if pending:
                    time.sleep(_POLL_S)
            for record in pending:
                _signal_group(record.pid, signal.SIGKILL)
            for record in ours:
                _wait_exited(record, 2.0)
                _kill_session_leftovers(record)
                self._forget(record.name)
            return [r.name for r in ours]


# ----- /proc helpers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _ProcStat:
    state: str
    session: int
    parent: int
    start_ticks: int


def _read_proc_stat(pid: int) -> _ProcStat | None:
    raw = _read_text(Path(f"/proc/{pid}/stat"))
    if not raw:
        return None
    # The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    fields = raw[raw.rfind(")") + 2:].split()
    try:
        return _ProcStat(state=fields[0], parent=int(fields[1]), session=int(fields[3]),
                         start_ticks=int(fields[19]))
    except (IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    return _read_text(Path("/proc/sys/kernel/random/boot_id")).strip() or None


def _matches_without_proc(pid: int, argv: tuple[str, ...]) -> bool:
    """Fallback where /proc is missing (macOS): compare the command line reported by ps."""
    if Path("/proc/self/stat").exists():
        return False  # /proc exists, so a missing /proc/<pid> means the process is gone
    try:
        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out) and out == " ".join(argv)


def _exited(record: ManagedProcess) -> bool:
    if record._popen is not None:
        return record._popen.poll() is not None
    stat = _read_proc_stat(record.pid)
    if stat is not None and stat.parent == os.getpid():
        # Our own child started by another Supervisor object: reap it so it leaves no zombie.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(record.pid, os.WNOHANG)
        stat = _read_proc_stat(record.pid)
    if stat is None:
        return not _matches_without_proc(record.pid, record.argv)
    return stat.state in ("Z", "X") or stat.start_ticks != record.identity.start_ticks


def _wait_exited(record: ManagedProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _exited(record) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass  # not ours to signal


def _kill_session_leftovers(record: ManagedProcess) -> None:
    """SIGKILL children that left the group but stayed in the session the leader created."""
    if record.identity.start_ticks is None:
        return
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == record.pid:
            continue
        stat = _read_proc_stat(int(entry.name))
        # Started no earlier than our leader and in its session: a descendant of it.
        if (stat and stat.session == record.pid and stat.state not in ("Z", "X")
                and stat.start_ticks >= record.identity.start_ticks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


# ----- small file helpers ----------------------------------------------------------------------
def _checked_name(name: str) -> str:
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid process name {name!r}")
    return name


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ESRCH, errno.ENOTDIR, errno.EACCES):
            return ""
        raise


def _read_json(path: Path, default: object) -> object:
    text = _read_text(path)
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


def _write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _tail(path: Path, max_bytes: int = 4000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            return fh.read().decode(errors="replace")
    except OSError:
        return ""
