#!/usr/bin/env python3
"""Run a command and measure it: wall time, CPU time and peak RSS from /usr/bin/time -v (when
present), the machine's load average before and after, and the command's RSS sampled every
CADASTRA_BENCH_SAMPLE_MS ms (default 100) from /proc together with its CPU seconds, so that
peaks and CPU time can be attributed to stages (samples: [seconds since start, RSS kB, CPU s]).

    measure.py --out RESULT.json [--stdout FILE] [--label TEXT] -- COMMAND ARGS...

Exits with the command's exit code. Standard library only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def status_kb(pid):
    """VmRSS and VmHWM of a process (kB), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            vals = {}
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    vals[k] = int(v.split()[0])
            return vals.get("VmRSS", 0), vals.get("VmHWM", 0)
    except (OSError, ValueError, IndexError):
        return None


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_s(pid):
    """User + system CPU seconds of a process (all its threads) so far, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / TICK
    except (OSError, ValueError, IndexError):
        return None


def parse_time_v(path):
    out = {}
    keys = {
        "User time (seconds)": ("user_s", float),
        "System time (seconds)": ("sys_s", float),
        "Maximum resident set size (kbytes)": ("max_rss_kb", int),
        "Percent of CPU this job got": ("cpu_percent", lambda s: int(s.rstrip("%") or 0)),
        "Exit status": ("time_exit", int),
    }
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().rpartition(": ")
                if k in keys:
                    name, conv = keys[k]
                    try:
                        out[name] = conv(v)
                    except ValueError:
                        pass
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stdout")
    ap.add_argument("--label", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")
    period = float(os.environ.get("CADASTRA_BENCH_SAMPLE_MS", "100")) / 1000.0
    use_time = os.path.exists("/usr/bin/time")
    tfile = tempfile.NamedTemporaryFile(prefix="measure-", suffix=".txt", delete=False)
    tfile.close()
    full = (["/usr/bin/time", "-v", "-o", tfile.name] if use_time else []) + cmd
    out = open(a.stdout, "wb") if a.stdout else None
    load0 = loadavg()
    start = time.time()
    t0 = time.monotonic()
    proc = subprocess.Popen(full, stdout=out if out else None)
    target = None
    samples = []
    hwm = 0
    while proc.poll() is None:
        if target is None:
            target = (children(proc.pid) or [None])[0] if use_time else proc.pid
        if target is not None:
            st = status_kb(target)
            cpu = cpu_s(target)
            if st is not None and cpu is not None:
                samples.append([round(time.monotonic() - t0, 3), st[0], round(cpu, 2)])
                hwm = max(hwm, st[1])
        time.sleep(period)
    wall = time.monotonic() - t0
    rc = proc.returncode
    if out:
        out.close()
    res = {
        "label": a.label,
        "cmd": cmd,
        "cwd": os.getcwd(),
        "start_epoch": start,
        "wall_s": round(wall, 3),
        "exit": rc,
        "loadavg_before": load0,
        "loadavg_after": loadavg(),
        "cpus": os.cpu_count(),
        "sampled_hwm_kb": hwm,
        "samples": samples,
    }
    if use_time:
        res.update(parse_time_v(tfile.name))
    os.unlink(tfile.name)
    with open(a.out, "w") as f:
        json.dump(res, f)
    mx = res.get("max_rss_kb", hwm)
    print(
        f"  {a.label or cmd[0]}: {wall:.1f} s wall, "
        f"{res.get('user_s', 0) + res.get('sys_s', 0):.1f} s CPU, peak RSS {mx / 1024:.0f} MiB, "
        f"load {load0} -> {res['loadavg_after']}, exit {rc}",
        file=sys.stderr,
    )
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
