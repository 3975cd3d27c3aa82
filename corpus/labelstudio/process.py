"""The managed server's process: started detached, recognised by its command line, stopped
as a process group. Only processes this module started or whose command line is
``label-studio start --port <recorded port>`` are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

# Servers started by this process: their Popen is kept so they get reaped, never warned about.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def spawn(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session (it survives the CLI), output appended to ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        out.write(f"\n--- corpus {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # detached: survives the CLI, stopped as a group
        )
    _CHILDREN[proc.pid] = proc
    return proc


def alive(pid: int) -> bool:
    if (child := _CHILDREN.get(pid)) is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (not reaped by its parent yet) is dead for our purposes...
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:  # no /proc (macOS)
        return True
    if stat.rpartition(")")[2].split()[:1] != ["Z"]:
        return True
    # ...once its other threads are gone too: a leader that exited first shows Z while they
    # still hold the process's files, its listening socket included (a restart right after
    # would find the port busy and move to another one)
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir())) > 1
    except OSError:
        return False


def is_label_studio(pid: int, port: int | None) -> bool:
    """The pid is alive and runs ``label-studio start`` on the recorded port (not a reused pid)."""
    if port is None or not alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:  # no /proc (macOS)
        ps = ["ps", "-o", "command=", "-p", str(pid)]
        argv = subprocess.run(ps, capture_output=True, text=True, check=False).stdout.split()
    try:
        port_arg = argv[argv.index("--port") + 1]
    except (ValueError, IndexError):
        return False
    return (
        port_arg == str(port) and "start" in argv and any(a.endswith("label-studio") for a in argv)
    )


def terminate(pid: int, *, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not alive(pid):
            break
    if (child := _CHILDREN.pop(pid, None)) is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5.0)
