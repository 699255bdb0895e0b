"""Supervisor: exact start/stop with pid files, across supervisor objects, never touching others."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshctl.demo.apps import AppsSpec, InstanceSpec, launch_apps
from meshctl.demo.supervisor import AlreadyRunning, StartFailed, StateDirLocked, Supervisor

pytestmark = pytest.mark.timeout(60)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def gone(pid: int) -> bool:
    """No such process, or only a zombie left of it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not gone(pid):
        time.sleep(0.02)
    return gone(pid)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stop_all_from_another_supervisor_stops_exactly_what_was_started(
        supervisor: Supervisor) -> None:
    spec = AppsSpec(instances=(InstanceSpec(id="a@c", service="a"), InstanceSpec(id="b@c", service="b")))
    apps = launch_apps(supervisor, spec, name="apps")
    sleeper = supervisor.start("sleeper", SLEEPER)
    supervisor.record_ports("sleeper", {"admin": 1})

    rows = {row.name: row for row in supervisor.status()}
    assert set(rows) == {"apps", "sleeper"}
    assert rows["apps"].alive and rows["apps"].pid == apps.process.pid
    assert rows["apps"].ports == {"control": int(apps.control_url.rsplit(":", 1)[1]), **apps.ports}
    assert rows["sleeper"].ports == {"admin": 1} and rows["sleeper"].log_path.exists()
    record = json.loads(supervisor.pid_path("apps").read_text())
    assert record["pid"] == apps.process.pid and record["start_ticks"] > 0
    assert record["argv"][1:3] == ["-m", "meshctl.demo.apps"]

    other = Supervisor(supervisor.state_dir)  # as `meshctl demo down` in another process would
    assert sorted(other.stop_all()) == ["apps", "sleeper"]

    assert wait_gone(apps.process.pid) and wait_gone(sleeper.pid)
    ports = [*apps.ports.values(), int(apps.control_url.rsplit(":", 1)[1])]
    assert all(refused(port) for port in ports)
    assert other.status() == [] and supervisor.status() == []
    assert not list(supervisor.state_dir.glob("*.pid"))


def test_stale_pid_files_are_cleaned_without_killing_anything_else(
        supervisor: Supervisor, bystander: subprocess.Popen[bytes]) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # A dead pid, and a live pid that is not ours (its start time differs from the record).
    for name, pid in (("dead", dead.pid), ("recycled", bystander.pid)):
        supervisor.pid_path(name).write_text(json.dumps({
            "pid": pid, "argv": ["something-else"], "started_at": 1.0, "start_ticks": 1,
            "boot_id": None}))
    supervisor.pid_path("garbled").write_text("{not json")
    assert {row.name: row.alive for row in supervisor.status()} == {"dead": False,
                                                                     "recycled": False}

    assert Supervisor(supervisor.state_dir).stop_all() == []

    time.sleep(0.2)  # give a wrongly sent signal time to land
    assert bystander.poll() is None
    assert not supervisor.pid_path("dead").exists()
    assert not supervisor.pid_path("recycled").exists()
    assert not supervisor.pid_path("garbled").exists()


def test_stop_sigkills_a_group_that_ignores_sigterm(supervisor: Supervisor, tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = subprocess.Popen({SLEEPER!r})\n"
        f"open({str(child_pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n")
    parent = supervisor.start("stubborn", [sys.executable, "-c", script],
                              ready=child_pid_file.exists)
    child_pid = int(child_pid_file.read_text())
    assert not gone(child_pid)

    assert supervisor.stop("stubborn", timeout=0.3) is True

    assert wait_gone(parent.pid) and wait_gone(child_pid)
    assert supervisor.status() == []
    assert supervisor.stop("stubborn") is False


def test_start_failure_reports_the_log_and_leaves_no_record(supervisor: Supervisor) -> None:
    argv = [sys.executable, "-c", "print('boom: bad config', flush=True); raise SystemExit(3)"]
    with pytest.raises(StartFailed, match="exited with code 3") as failure:
        supervisor.start("broken", argv, ready=lambda: False)
    assert "boom: bad config" in failure.value.log_tail
    assert supervisor.status() == []
    assert "boom" in supervisor.log_path("broken").read_text()


def test_ready_timeout_stops_the_process(supervisor: Supervisor) -> None:
    with pytest.raises(StartFailed, match="not ready within"):
        supervisor.start("never-ready", SLEEPER, ready=lambda: False, timeout=0.3)
    assert supervisor.status() == []


def test_second_start_of_a_live_name_is_refused(supervisor: Supervisor) -> None:
    first = supervisor.start("once", SLEEPER)
    with pytest.raises(AlreadyRunning):
        Supervisor(supervisor.state_dir).start("once", SLEEPER)
    assert first.alive()


def test_state_dir_lock_excludes_a_second_supervisor(supervisor: Supervisor) -> None:
    other = Supervisor(supervisor.state_dir)
    with supervisor.locked():
        supervisor.start("inside-lock", SLEEPER)  # re-entrant for the holder
        with pytest.raises(StateDirLocked), other.locked(timeout=0.1):
            pass
    with other.locked(timeout=0.1):
        assert [row.name for row in other.status()] == ["inside-lock"]


def test_env_is_added_to_the_environment(supervisor: Supervisor, tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    script = f"import os; open({str(out)!r}, 'w').write(os.environ['DEMO_FLAG'] + os.environ['PATH'][:1])"
    supervisor.start("env", [sys.executable, "-c", script + "; import time; time.sleep(60)"],
                     env={"DEMO_FLAG": "on"}, ready=out.exists)
    assert wait_until_text(out) == "on" + os.environ["PATH"][:1]


def wait_until_text(path: Path, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not path.read_text():
        time.sleep(0.02)
    return path.read_text()
