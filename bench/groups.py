#!/usr/bin/env python3
"""bench/groups.py: the request path against the FastCGI floor.

The floor is nginx (the same generated configuration, without upstream
keepalive: a connection per request) in front of two trivial libfcgi
responders (bench/floor_responder.c: one FCGX_Accept_r loop printing a
fixed JSON body, started by spawn-fcgi), which is what the architecture
costs before any of our code runs. Our pool is measured as shipped, with
nginx keeping its connections to the pool (fastcgi_keep_conn). In the same run, and
in alternating wrk rounds, it measures our pool of 2 workers on GET /,
GET /images/{id} and GET /image_groups/{id} (the release build: run
`./deploy/dev build` first), and prints each median as a ratio of the
floor's, with the goals: GET / >= 0.85, GET /images/{id} >= 0.70.

  bench/groups.py [--rounds N] [--seconds S] [--connections C]
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("BANDPICS_BIN", os.path.join(TOP, "build", "release", "bandpics-fcgi"))
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
os.environ.setdefault("BANDPICS_MKIMAGE", os.path.join(TOP, "build", "release", "tests",
                                                       "mkimage"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import Stack, wait_until  # noqa: E402
from images import make_image, multipart  # noqa: E402

GOALS = {"/": 0.85, "/images/{id}": 0.70}


def wrk(port, path, seconds, connections):
    """One wrk run on path: requests a second."""
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds,
                          "http://127.0.0.1:%d%s" % (port, path)],
                         check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit("wrk saw %s failed responses on %s" % (errors.group(1), path))
    return rate


def start_floor(directory):
    """Two trivial responders on a socket in directory; the spawn-fcgi
    children's process group and the socket's path."""
    program = os.path.join(directory, "floor")
    subprocess.run(["gcc", "-O2", "-o", program,
                    os.path.join(TOP, "bench", "floor_responder.c"), "-lfcgi"], check=True)
    sock = os.path.join(directory, "floor.sock")
    subprocess.run(["spawn-fcgi", "-F", "2", "-s", sock, "-M", "0600", "--", program],
                   check=True, capture_output=True)
    wait_until(lambda: os.path.exists(sock), what="the floor socket")
    return program, sock


def stop_floor(program):
    subprocess.run(["pkill", "-f", "^" + re.escape(program) + "$"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not os.path.exists(os.environ["BANDPICS_BIN"]):
        raise SystemExit("build the release binary first: ./deploy/dev build")
    if not os.path.exists(os.environ["BANDPICS_MKIMAGE"]):
        subprocess.run(["make", "-C", os.path.join(TOP, "build", "release"), "tests/mkimage"],
                       check=True, capture_output=True)
    for tool in ("wrk", "spawn-fcgi", "gcc"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is needed (apt-get install %s)" % (tool, tool))
    stack = Stack(name="bench", workers=2).start()
    floor_stack = Stack(name="bench-floor")
    floor_dir = tempfile.mkdtemp(prefix="bp-floor-")
    program = None
    try:
        program, sock = start_floor(floor_dir)
        # The floor as issue 13 defines it: a connection per request.
        floor_stack.start_nginx(upstream="unix:" + sock,
                                env={"BANDPICS_UPSTREAM_KEEPALIVE": "off"})
        for i in range(200):
            stack.post("/image_groups", {"name": "bench %d" % i, "description": "x" * 100})
        ctype, body = multipart([("name", "target")], [
            ("images", "p%d.jpg" % i, make_image(320, 240, "jpg"), "image/jpeg")
            for i in range(5)])
        group = stack.post("/image_groups", body, headers={"Content-Type": ctype}).json
        paths = {"/": "/", "/images/{id}": "/images/" + group["images"][0]["id"],
                 "/image_groups/{id}": "/image_groups/" + group["id"]}
        rates = {"floor": []}
        rates.update({name: [] for name in paths})
        for r in range(args.rounds):
            rates["floor"].append(wrk(floor_stack.port, "/", args.seconds, args.connections))
            for name, path in paths.items():
                rates[name].append(wrk(stack.port, path, args.seconds, args.connections))
            print("round %d: " % (r + 1) +
                  ", ".join("%s %.0f" % (name, rates[name][-1]) for name in rates), flush=True)
        floor = statistics.median(rates["floor"])
        print("median floor (nginx + 2 trivial libfcgi responders) %8.0f req/s" % floor)
        for name in paths:
            median = statistics.median(rates[name])
            ratio = median / floor
            goal = GOALS.get(name)
            verdict = "" if goal is None else "  goal >= %.2f: %s" % (
                goal, "PASS" if ratio >= goal else "FAIL")
            print("median GET %-19s %8.0f req/s  %.2f x floor%s" % (name, median, ratio,
                                                                     verdict))
    finally:
        if program is not None:
            stop_floor(program)
        floor_stack.stop()
        floor_stack.cleanup()
        stack.stop()
        stack.cleanup()
        shutil.rmtree(floor_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
