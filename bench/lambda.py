#!/usr/bin/env python3
"""bench/lambda.py: the AWS Lambda runtime's cold start and warm latency.

Against the Runtime API emulator of tests/integration/test_lambda.py
(loopback HTTP), for the release build (./deploy/dev build) and for the
floor, a trivial runtime (a shell loop with curl that answers every
invocation with a fixed body: the least any custom runtime does):
- cold start: from the process's start to its first GET invocation/next,
  median of --starts starts;
- warm latency: from queuing an API Gateway (payload 2.0) event of GET
  /image_groups/{id} (a group of 20 images) to its answer, median and
  p90 of --requests invocations.
Prints both and the ratios.

  bench/lambda.py [--starts N] [--requests N]
"""
import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ["BANDPICS_BIN"] = os.path.join(TOP, "build", "release", "bandpics-fcgi")
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
os.environ.setdefault("BANDPICS_MKIMAGE", os.path.join(TOP, "build", "release", "tests",
                                                       "mkimage"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import test_lambda as lam  # noqa: E402
from images import make_image, multipart  # noqa: E402

TRIVIAL = """#!/bin/sh
# The floor: a custom runtime that answers every invocation at once.
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while :; do
    id=$(curl -sS -D - -o /dev/null "$api/invocation/next" |
         tr -d '\\r' | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
    [ -n "$id" ] || exit 0
    curl -sS -o /dev/null -X POST -d '{"statusCode":200,"body":"{}"}' \\
        "$api/invocation/$id/response"
done
"""


class TimedEmulator(lam.Emulator):
    """The emulator, noting when the first invocation/next arrives."""

    def __init__(self):
        super().__init__()
        self.first_next = None
        original = self.events.get

        def get(*args, **kw):
            if self.first_next is None:
                self.first_next = time.monotonic()
            return original(*args, **kw)
        self.events.get = get


def start(command, emulator, env_extra):
    env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % emulator.port}
    env.update(env_extra)
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while emulator.first_next is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    return proc, emulator.first_next - started


def stop(proc):
    proc.terminate()
    proc.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=9)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not os.path.exists(os.environ["BANDPICS_BIN"]):
        raise SystemExit("build the release binary first: ./deploy/dev build")
    work = tempfile.mkdtemp(prefix="bp-bench-lambda-")
    trivial = os.path.join(work, "trivial")
    with open(trivial, "w") as f:
        f.write(TRIVIAL)
    os.chmod(trivial, 0o755)
    ours_env = {"BANDPICS_DATA_DIR": os.path.join(work, "data"), "BANDPICS_AUTH_MODE": "off",
                "BANDPICS_LAMBDA_ALLOW_LOCAL": "1"}
    ours = [os.environ["BANDPICS_BIN"], "--config", "/dev/null", "--lambda"]
    try:
        colds = {"ours": [], "trivial": []}
        for _ in range(args.starts):
            for name, command, env in (("ours", ours, ours_env), ("trivial", [trivial], {})):
                emulator = TimedEmulator()
                proc, cold = start(command, emulator, env)
                colds[name].append(cold * 1e3)
                stop(proc)
                emulator.close()
        warm = {}
        for name, command, env in (("ours", ours, ours_env), ("trivial", [trivial], {})):
            emulator = TimedEmulator()
            proc, _ = start(command, emulator, env)
            path = "/"
            if name == "ours":
                ctype, body = multipart([("name", "bench")], [
                    ("images", "p%d.jpg" % i, make_image(320, 240, "jpg"), "image/jpeg")
                    for i in range(20)])
                kind, doc = emulator.invoke(lam.http_v2(
                    "POST", "/image_groups", base64.b64encode(body).decode(),
                    {"content-type": ctype}, encoded=True))
                if doc.get("statusCode") != 201:
                    raise SystemExit("could not make the group: %r" % doc)
                path = "/image_groups/" + json.loads(doc["body"])["id"]
            samples = []
            for _ in range(args.requests):
                t0 = time.monotonic()
                kind, doc = emulator.invoke(lam.http_v2("GET", path))
                samples.append((time.monotonic() - t0) * 1e3)
                if doc.get("statusCode") != 200:
                    raise SystemExit("%s answered %r" % (name, doc))
            warm[name] = samples
            stop(proc)
            emulator.close()
        for name in ("trivial", "ours"):
            s = sorted(warm[name])
            print("%-8s cold start median %7.1f ms   warm median %6.2f ms  p90 %6.2f ms"
                  % (name, statistics.median(colds[name]), statistics.median(s),
                     s[int(len(s) * 0.9) - 1]))
        print("ours / trivial: cold start %.2fx, warm median %.2fx (GET /image_groups/{id}, "
              "20 images, against a fixed answer)"
              % (statistics.median(colds["ours"]) / statistics.median(colds["trivial"]),
                 statistics.median(warm["ours"]) / statistics.median(warm["trivial"])))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
