#!/usr/bin/env python3
"""bench/starve.py: reads while 12 MP photos are uploaded.

For each pool layout (2 workers doing everything, as before upload
workers existed; and 2 workers plus 1 upload worker on its own socket,
as shipped), behind the same generated nginx configuration: 4 reader
threads send GET /images/{id} one after another for --seconds, first
with nothing else going on (idle), then while 2 clients (processes of
their own) upload 12 MP JPEGs continuously. Prints each phase's reads, median and p99 latency
and timeouts (a read not answered in 10 s), and for the shipped layout
the goal: loaded p99 at most 2 x idle p99, no timeout.

  bench/starve.py [--seconds S]     (the release build: ./deploy/dev build)
"""
import argparse
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("BANDPICS_BIN", os.path.join(TOP, "build", "release", "bandpics-fcgi"))
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
os.environ.setdefault("BANDPICS_MKIMAGE", os.path.join(TOP, "build", "release", "tests",
                                                       "mkimage"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import Stack  # noqa: E402
from images import make_image, multipart  # noqa: E402

READERS = 4
UPLOADERS = 2
TIMEOUT_S = 10


def reads(port, path, seconds):
    """Latencies (ms) of reads by READERS threads for seconds; timeouts."""
    latencies, timeouts = [], [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def reader():
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok = resp.status == 200
            except OSError:
                ok = False
            with lock:
                if ok:
                    latencies.append((time.monotonic() - started) * 1000)
                else:
                    timeouts[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, timeouts[0]


def p99(values):
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def phase(name, latencies, timeouts):
    print("  %-8s %6d reads, median %7.1f ms, p99 %7.1f ms, %d timeouts"
          % (name, len(latencies), statistics.median(latencies), p99(latencies), timeouts))
    return p99(latencies)


def run_layout(label, upload_workers, photo, seconds):
    stack = Stack(name="starve", workers=2, upload_workers=upload_workers,
                  config={"max_requests": 0}).start()
    try:
        ctype, body = multipart([], [("image", "small.jpg", make_image(320, 240, "jpg"),
                                      "image/jpeg")])
        image = stack.post("/images", body, headers={"Content-Type": ctype}).json
        path = "/images/" + image["id"]
        reads(stack.port, path, 2)  # warm up
        idle = reads(stack.port, path, seconds)
        # The uploading clients are processes of their own, as real clients
        # are: threads here would share the readers' interpreter lock and
        # add its switch interval (5 ms) to their latencies.
        stop = multiprocessing.Event()
        uploaded = multiprocessing.Value("i", 0)
        ctype, big = multipart([], [("image", "12mp.jpg", photo, "image/jpeg")])

        def uploader():
            while not stop.is_set():
                resp = stack.post("/images", big, headers={"Content-Type": ctype},
                                  timeout=600)
                if resp.status == 201:
                    with uploaded.get_lock():
                        uploaded.value += 1

        clients = [multiprocessing.get_context("fork").Process(target=uploader)
                   for _ in range(UPLOADERS)]
        for c in clients:
            c.start()
        time.sleep(2)  # the uploads under way
        loaded = reads(stack.port, path, seconds)
        stop.set()
        for c in clients:
            c.join()
        uploaded = [uploaded.value]
        print("%s (%d uploads of 12 MP done meanwhile)" % (label, uploaded[0]))
        idle_p99 = phase("idle", *idle)
        loaded_p99 = phase("loaded", *loaded)
        return idle_p99, loaded_p99, loaded[1]
    finally:
        stack.stop()
        stack.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    if not os.path.exists(os.environ["BANDPICS_BIN"]):
        raise SystemExit("build the release binary first: ./deploy/dev build")
    if not os.path.exists(os.environ["BANDPICS_MKIMAGE"]):
        subprocess.run(["make", "-C", os.path.join(TOP, "build", "release"), "tests/mkimage"],
                       check=True, capture_output=True)
    photo = make_image(4000, 3000, "jpg")
    print("GET /images/{id} by %d readers; %d clients uploading a %.1f MB 12 MP JPEG"
          % (READERS, UPLOADERS, len(photo) / 1e6))
    run_layout("2 workers, no upload workers", 0, photo, args.seconds)
    idle, loaded, timeouts = run_layout("2 workers + 1 upload worker (shipped)", 1, photo,
                                        args.seconds)
    ok = loaded <= 2 * idle and timeouts == 0
    print("loaded p99 / idle p99 = %.2f (goal <= 2, no timeout): %s"
          % (loaded / idle, "PASS" if ok else "FAIL"))


if __name__ == "__main__":
    main()
