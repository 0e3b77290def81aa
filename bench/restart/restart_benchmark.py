#!/usr/bin/env python3
"""Restart of a demo tenant: how long `pond serve` takes until it serves.

Makes one data directory with `pond demo` (by --maker, the older build when
comparing across a storage change, so both builds start from the same
bytes), then for each build given copies it and times `pond serve` from its
start until `/healthz` answers 200 (every tenant loaded), several times, in
turn A B A B. A build that migrates the store on its first start has that
first start timed apart ("first start") and left out of the restarts.

Usage:
  bench/restart/restart_benchmark.py --maker OLD/pond --build old=OLD/pond \\
      --build new=build/pond --members 1000000 [--rounds 3] [--dir /tmp/pond-restart]

Loopback only; every server is stopped (SIGTERM, then SIGKILL) before the
next starts; the directory is removed at the end. Standard library only.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

LISTENING = re.compile(rb"pond listening on http://127\.0\.0\.1:(\d+)")
TIMEOUT = 1800.0


def ready_seconds(pond, data):
    """Seconds from starting `pond serve` on DATA until /healthz is 200."""
    start = time.monotonic()
    proc = subprocess.Popen([pond, "serve", "--data", data, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        m = LISTENING.search(line)
        if not m:
            raise RuntimeError("pond serve did not print its address: %r" % line)
        port = int(m.group(1))
        while time.monotonic() - start < TIMEOUT:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("not ready within %.0f s" % TIMEOUT)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maker", required=True, help="the pond that makes the demo data directory")
    ap.add_argument("--build", action="append", required=True, help="NAME=PATH of a pond to time; repeat")
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/pond-restart")
    args = ap.parse_args()
    builds = [b.split("=", 1) for b in args.build]

    shutil.rmtree(args.dir, ignore_errors=True)
    base = os.path.join(args.dir, "base")
    t0 = time.monotonic()
    subprocess.run([args.maker, "demo", "--data", base, "--members", str(args.members), "--seed", "1",
                    "--end", "2026-12-07T00:00:00+08:00"], check=True, stdout=subprocess.DEVNULL)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(base) for f in fs)
    print("demo of %d members by %s: %.1f s, %.0f MB" % (args.members, args.maker, time.monotonic() - t0, size / 1e6))

    dirs = {}
    for name, pond in builds:
        dirs[name] = os.path.join(args.dir, name)
        shutil.copytree(base, dirs[name])
        first = ready_seconds(pond, dirs[name])
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(dirs[name]) for f in fs)
        print("%-8s first start %.2f s (a migration, if any, included); store then %.0f MB" % (name, first, size / 1e6))
    times = {name: [] for name, _ in builds}
    for r in range(args.rounds):
        for name, pond in builds:
            t = ready_seconds(pond, dirs[name])
            times[name].append(t)
            print("round %d %-8s restart %.2f s" % (r + 1, name, t))
            sys.stdout.flush()
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    for name, m in medians.items():
        print("%-8s median restart %.2f s (min %.2f, max %.2f)" % (name, m, min(times[name]), max(times[name])))
    if len(builds) == 2:
        (a, _), (b, _) = builds
        print("ratio %s/%s restart time: %.2f (below 1: %s starts faster)" % (b, a, medians[b] / medians[a], b))
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
