#!/usr/bin/env python3
"""bench/auth.py: what a credential costs a read, through nginx.

Starts nginx and a pool of 2 workers (the release build: run
`./deploy/dev run` once, or build build/release yourself) in
auth_mode = writes with a loopback OpenID Connect issuer (the one
tests/integration/test_auth_jwt.py plays: RSA keys, a JWKS on a local
port), then runs wrk in alternating rounds against the same
GET /image_groups/{id}: without a credential, with a valid bearer JWT
(RS256, verified on every request) and with an API key (a store lookup
and a hash). Prints the median req/s of each and the ratios.
Goal: each credential >= 0.9 x no credential.

  bench/auth.py [--rounds N] [--seconds S] [--connections C]
"""
import argparse
import os
import statistics
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("BANDPICS_BIN", os.path.join(TOP, "build", "release", "bandpics-fcgi"))
os.environ.setdefault("BANDPICS_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from groups import wrk  # noqa: E402
from harness import Stack  # noqa: E402
from test_auth_jwt import CLIENT, ISSUER, Issuer  # noqa: E402

GOAL = 0.9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not os.path.exists(os.environ["BANDPICS_BIN"]):
        raise SystemExit("build the release binary first: ./deploy/dev run, or "
                         "make -C build/release")
    issuer = Issuer()
    issuer.add_rsa("rsa1")
    stack = Stack(name="bench-auth", workers=2, config={
        "auth_mode": "writes", "auth_issuer": ISSUER, "auth_audience": CLIENT,
        "auth_jwks_url": "http://127.0.0.1:%d/jwks.json" % issuer.port,
        "log_level": "warn"})
    try:
        os.makedirs(stack.data_dir, exist_ok=True)
        key = subprocess.run([os.environ["BANDPICS_BIN"], "--config", stack.config_path,
                              "--key-create", "bench", "--role", "reader"],
                             check=True, capture_output=True, text=True).stdout.strip()
        stack.start()
        token = issuer.token("rsa1", sub="bench", groups=["admin"], exp=2**31 - 1)
        jwt_header = {"Authorization": "Bearer " + token}
        for i in range(50):
            stack.post("/image_groups", {"name": "bench %d" % i}, headers=jwt_header)
        gid = stack.post("/image_groups", {"name": "target"}, headers=jwt_header).json["id"]
        path = "/image_groups/" + gid
        rates = {"none": [], "jwt": [], "key": []}
        headers = {"none": None, "jwt": "Authorization: Bearer " + token,
                   "key": "Authorization: Bearer " + key}
        for r in range(args.rounds):
            for kind in ("none", "jwt", "key"):
                rates[kind].append(wrk(stack.port, path, args.seconds, args.connections,
                                       header=headers[kind]))
            print("round %d: none %.0f, JWT %.0f, API key %.0f req/s"
                  % (r + 1, rates["none"][-1], rates["jwt"][-1], rates["key"][-1]), flush=True)
        med = {k: statistics.median(v) for k, v in rates.items()}
        print("median GET %s without a credential %8.0f req/s" % (path, med["none"]))
        print("median with a bearer JWT (RS256)        %8.0f req/s" % med["jwt"])
        print("median with an API key                  %8.0f req/s" % med["key"])
        for kind, name in (("jwt", "JWT"), ("key", "API key")):
            ratio = med[kind] / med["none"]
            print("ratio %-8s / none (goal >= %.2f)    %8.2f  %s"
                  % (name, GOAL, ratio, "PASS" if ratio >= GOAL else "FAIL"))
    finally:
        stack.stop()
        stack.cleanup()
        issuer.stop()


if __name__ == "__main__":
    main()
