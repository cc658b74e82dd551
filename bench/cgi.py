#!/usr/bin/env python3
"""bench/cgi.py: what one request costs as plain CGI under Apache.

Starts Debian's apache2 (apache2, libapache2-mod-fcgid) on a loopback
port twice, with the shipped configurations and the release build: as
CGI behind apache/htaccess (a new process per request) and through
mod_fcgid with apache/bandpics-fcgid.conf (a resident worker). One
client sends GET /image_groups/{id} (a group of 20 images) in turn to
each, and also GET of a trivial CGI shell script printing a fixed JSON
body (the floor of any CGI program on this Apache). Prints the median
and 90th percentile of each, and PASS/FAIL for the goal: the CGI median
at most 30 ms.

  bench/cgi.py [--requests N]      (as root, like the tests)
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("BANDPICS_BIN", os.path.join(TOP, "build", "release", "bandpics-fcgi"))
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import apache  # noqa: E402
from harness import BIN, Stack  # noqa: E402

GOAL_MS = 30.0
FLOOR_CGI = """#!/bin/sh
printf 'Status: 200 OK\\r\\nContent-Type: application/json\\r\\n\\r\\n{"id":"x"}'
"""


def timed_gets(port, path, count):
    """Milliseconds of each of count GETs of path, one at a time."""
    times = []
    for _ in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - started) * 1000)
        conn.close()
        if resp.status != 200:
            raise SystemExit("GET %s: %d" % (path, resp.status))
    return times


def fill(stack, base):
    """A group of 20 images in the store behind base; its id."""
    import images  # tests/integration/images.py, for its JPEG and multipart
    if not images.MKIMAGE:
        images.MKIMAGE = os.path.join(TOP, "build", "release", "tests", "mkimage")
    jpeg = images.make_image(320, 240, "jpg")
    files = [("images", "p%02d.jpg" % i, jpeg, "image/jpeg") for i in range(20)]
    ctype, body = images.multipart([("name", "bench")], files)
    made = stack.post(base + "/image_groups", body, headers={"Content-Type": ctype})
    if made.status != 201:
        raise SystemExit("could not make the group: %r" % made)
    return made.json["id"]


def summary(name, times):
    ordered = sorted(times)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    print("%-34s median %7.2f ms   p90 %7.2f ms" % (name, statistics.median(times), p90))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not os.path.exists(BIN):
        raise SystemExit("build the release binary first: ./deploy/dev build")
    if not apache.available():
        raise SystemExit("apt-get install apache2 libapache2-mod-fcgid first")
    if not os.path.exists(os.path.join(TOP, "build", "release", "tests", "mkimage")):
        os.system("make -C %s tests/mkimage >/dev/null" % os.path.join(TOP, "build", "release"))
    stack = Stack(name="bench-cgi", config={"auth_mode": "off"})
    os.chmod(stack.dir, 0o755)
    apache.open_path_to(stack.dir)
    try:
        # CGI: the shipped .htaccess in /bandpics/, a trivial CGI beside.
        www = os.path.join(stack.dir, "www")
        app = os.path.join(www, "bandpics")
        floor = os.path.join(www, "floor")
        os.makedirs(app)
        os.makedirs(floor)
        shutil.copy(os.path.join(TOP, "apache", "htaccess"), os.path.join(app, ".htaccess"))
        shutil.copy(BIN, os.path.join(app, "bandpics.cgi"))
        shutil.copy(stack.config_path, os.path.join(app, "bandpics.conf"))
        with open(os.path.join(floor, "floor.cgi"), "w") as f:
            f.write(FLOOR_CGI)
        os.chmod(os.path.join(floor, "floor.cgi"), 0o755)
        with open(os.path.join(floor, ".htaccess"), "w") as f:
            f.write("Options +ExecCGI\nAddHandler cgi-script .cgi\n")
        os.makedirs(stack.data_dir)
        apache.give_to_server(stack.data_dir)
        site = ("DocumentRoot %s\n<Directory %s>\n    AllowOverride All\n"
                "    Require all granted\n</Directory>\n" % (www, www))
        server = apache.Apache(stack.dir, ["cgid", "rewrite", "unique_id"], site,
                               stack.logs).start()
        stack.port = server.port
        gid = fill(stack, "/bandpics")
        timed_gets(server.port, "/bandpics/image_groups/" + gid, 10)  # warm the cache
        cgi = timed_gets(server.port, "/bandpics/image_groups/" + gid, args.requests)
        floor_times = timed_gets(server.port, "/floor/floor.cgi", args.requests)
        server.stop()

        # mod_fcgid: the shipped site, the same data.
        program = os.path.join(stack.dir, "bin", "bandpics-fcgi")
        os.makedirs(os.path.dirname(program))
        shutil.copy(BIN, program)
        site = ("Define BANDPICS_PROGRAM %s\nDefine BANDPICS_CONFIG %s\n"
                "Define BANDPICS_FILES %s\nDefine BANDPICS_LOG_DIR %s\n"
                "Include %s/apache/bandpics-fcgid.conf\n"
                % (program, os.path.join(app, "bandpics.conf"),
                   os.path.join(stack.data_dir, "files"), stack.dir, TOP))
        server = apache.Apache(stack.dir, ["fcgid", "rewrite", "unique_id"], site,
                               stack.logs).start()
        timed_gets(server.port, "/image_groups/" + gid, 10)  # start the worker
        fcgid = timed_gets(server.port, "/image_groups/" + gid, args.requests)
        server.stop()

        print("GET /image_groups/{id} (20 images), one client, %d requests each"
              % args.requests)
        summary("trivial CGI shell script (floor)", floor_times)
        median = summary("bandpics as CGI", cgi)
        summary("bandpics through mod_fcgid", fcgid)
        print("CGI median %.2f ms, goal <= %.0f ms: %s"
              % (median, GOAL_MS, "PASS" if median <= GOAL_MS else "FAIL"))
    finally:
        stack.cleanup()


if __name__ == "__main__":
    main()
