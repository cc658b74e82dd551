#!/usr/bin/env python3
"""bench/groups.py: request throughput of the group API through nginx.

Starts nginx and a pool of 2 workers (the release build: run
`./deploy/dev run` once, or build build/release yourself), then runs wrk
in alternating rounds against GET / (the floor: nginx + FastCGI doing no
work) and GET /image_groups/{id} (a store read and JSON rendering), and
prints the median req/s of each and their ratio. Goal: ratio >= 0.7.

  bench/groups.py [--rounds N] [--seconds S] [--connections C]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("BANDPICS_BIN", os.path.join(TOP, "build", "release", "bandpics-fcgi"))
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import Stack  # noqa: E402


def wrk(port, path, seconds, connections, header=None):
    """One wrk run on path (with one extra request header): requests a second."""
    extra = ["-H", header] if header else []
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds] + extra +
                         ["http://127.0.0.1:%d%s" % (port, path)],
                         check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit("wrk saw %s failed responses on %s" % (errors.group(1), path))
    return rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not os.path.exists(os.environ["BANDPICS_BIN"]):
        raise SystemExit("build the release binary first: ./deploy/dev run, or "
                         "make -C build/release")
    stack = Stack(name="bench", workers=2).start()
    try:
        for i in range(200):
            stack.post("/image_groups", {"name": "bench %d" % i, "description": "x" * 100})
        gid = stack.post("/image_groups", {"name": "target", "description": "the one read"}).json["id"]
        floor, reads = [], []
        for r in range(args.rounds):
            floor.append(wrk(stack.port, "/", args.seconds, args.connections))
            reads.append(wrk(stack.port, "/image_groups/" + gid, args.seconds, args.connections))
            print("round %d: GET / %.0f req/s, GET /image_groups/{id} %.0f req/s"
                  % (r + 1, floor[-1], reads[-1]), flush=True)
        f, g = statistics.median(floor), statistics.median(reads)
        print("median GET /                  %8.0f req/s" % f)
        print("median GET /image_groups/{id} %8.0f req/s" % g)
        print("ratio (goal >= 0.70)          %8.2f" % (g / f))
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    main()
