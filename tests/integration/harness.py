"""harness.py: the integration tests' runner and the service under test.

Stack starts the real bandpics-fcgi pool and a real nginx (config from
nginx/render-conf) on loopback ports, everything inside one temporary
directory, and stops them. run_tests prints TAP for automake's driver.
Only the Python standard library is used.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SRCDIR = os.environ.get("BANDPICS_SRCDIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("BANDPICS_BIN", os.path.join(SRCDIR, "build", "bandpics-fcgi"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Response:
    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Stack:
    """A pool (or another FastCGI server) behind a real nginx in a temp dir."""

    def __init__(self, config=None, workers=2, name="stack", upload_workers=0):
        """upload_workers: the pool's upload workers on their own socket,
        where nginx sends requests that carry files (0: none)."""
        self.dir = tempfile.mkdtemp(prefix="bp-it-%s-" % name)
        self.data_dir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "pool.sock")
        self.upload_socket = os.path.join(self.dir, "uploads.sock") if upload_workers else None
        self.port = free_port()
        self.workers = workers
        self.upload_workers = upload_workers
        self.config_path = os.path.join(self.dir, "bandpics.conf")
        config = dict(config or {})
        if upload_workers:
            config.setdefault("upload_workers", upload_workers)
        self.write_config(config)
        self.pool = None
        self.nginx = None
        self.logs = []
        # Variables for the pool's environment only (BANDPICS_CRASH_AT).
        self.pool_env = {}

    def write_config(self, settings):
        # Suites about other things run without authentication (explicitly,
        # as an operator would); test_auth.py tests the modes themselves.
        settings = dict(settings)
        settings.setdefault("auth_mode", "off")
        # Nor do they depend on how full the machine's disk is (the
        # default keeps 256M free); test_disk_full.py tests the limit.
        settings.setdefault("min_free_bytes", "1M")
        lines = ["data_dir = %s" % self.data_dir]
        lines += ["%s = %s" % kv for kv in settings.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANDPICS_")}
        env.update(extra or {})
        return env

    def start_pool(self):
        log = open(os.path.join(self.dir, "pool-%d.log" % len(self.logs)), "w")
        self.logs.append(log.name)
        uploads = ["--upload-listen", "unix:" + self.upload_socket] if self.upload_socket else []
        self.pool = subprocess.Popen(
            [BIN, "--config", self.config_path, "--listen", "unix:" + self.socket,
             "--workers", str(self.workers)] + uploads,
            stdout=log, stderr=subprocess.STDOUT, env=self.env(self.pool_env),
            start_new_session=True)
        log.close()
        wait_until(lambda: os.path.exists(self.socket) or self.pool.poll() is not None,
                   what="the pool socket")
        if self.pool.poll() is not None:
            raise AssertionError("pool exited: " + self.read_logs())
        wait_until(lambda: len(self.worker_pids()) == self.workers + self.upload_workers,
                   what="workers")

    def start_nginx(self, upstream=None, env=None):
        """env: extra variables for render-conf (BANDPICS_WRITE_RATE, ...)."""
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        uploads = []
        if upstream is None and self.upload_socket:
            uploads = ["unix:" + self.upload_socket]
        conf = subprocess.run(
            [os.path.join(SRCDIR, "nginx", "render-conf"), self.dir, str(self.port),
             upstream or "unix:" + self.socket, os.path.join(self.data_dir, "files")] + uploads,
            check=True, capture_output=True, text=True,
            env=dict(os.environ, **(env or {}))).stdout
        conf_path = os.path.join(self.dir, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        log = open(os.path.join(self.dir, "nginx-stderr.log"), "w")
        self.nginx = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf_path, "-e", "stderr"],
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        log.close()
        wait_until(lambda: port_open(self.port) or self.nginx.poll() is not None,
                   what="nginx")
        if self.nginx.poll() is not None:
            raise AssertionError("nginx exited: " + open(log.name).read())

    def start(self):
        self.start_pool()
        self.start_nginx()
        return self

    def worker_pids(self):
        """The pool master's children, read from /proc."""
        if self.pool is None:
            return []
        path = "/proc/%d/task/%d/children" % (self.pool.pid, self.pool.pid)
        try:
            with open(path) as f:
                return sorted(int(p) for p in f.read().split())
        except OSError:
            return []

    def stop_pool(self, timeout=30):
        if self.pool is None:
            return None
        if self.pool.poll() is None:
            self.pool.send_signal(signal.SIGTERM)
        try:
            code = self.pool.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pool.pid, signal.SIGKILL)
            self.pool.wait()
            raise AssertionError("pool did not stop on SIGTERM")
        self.pool = None
        return code

    def stop(self):
        if self.nginx is not None:
            if self.nginx.poll() is None:
                self.nginx.send_signal(signal.SIGQUIT)
                try:
                    self.nginx.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.nginx.kill()
                    self.nginx.wait()
            self.nginx = None
        self.stop_pool()

    def read_logs(self):
        text = ""
        for name in self.logs:
            with open(name, errors="replace") as f:
                text += f.read()
        return text

    def check_sanitizers(self):
        text = self.read_logs()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError("sanitizer report in the pool log:\n" + text[-4000:])

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, timeout=30):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, hdrs, data, resp.reason)
        finally:
            conn.close()

    def raw_request(self, data, timeout=30):
        """Sends raw bytes to the web server and reads until it closes;
        returns (status line, head, body)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            conn.sendall(data)
            got = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0], head, body

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def expect(cond, message="expectation failed"):
    if not cond:
        raise AssertionError(message)


def expect_status(resp, status):
    if resp.status != status:
        raise AssertionError("expected %d, got %r" % (status, resp))


def expect_error(resp, status, detail=None):
    """An error: the status, a JSON body and a detail string."""
    expect_status(resp, status)
    expect(resp.header("content-type") is not None and
           resp.header("content-type").startswith("application/json"),
           "error is not JSON: %r" % resp)
    body = resp.json
    expect(isinstance(body.get("detail"), str) and body["detail"],
           "no detail in %r" % body)
    if detail is not None:
        expect(detail in body["detail"], "detail %r lacks %r" % (body["detail"], detail))
    return body


class Skip(Exception):
    """Raised by a test that cannot run here (a tool missing): reported as
    a TAP skip with the exception's text as the reason."""


def run_tests(tests):
    """Runs test functions in order, printing TAP; returns the exit status."""
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for number, test in enumerate(tests, 1):
        name = test.__name__
        try:
            test()
            print("ok %d - %s" % (number, name), flush=True)
        except Skip as why:
            print("ok %d - %s # SKIP %s" % (number, name, why), flush=True)
        except Exception:
            failed += 1
            print("not ok %d - %s" % (number, name), flush=True)
            for line in traceback.format_exc().splitlines():
                print("# " + line, flush=True)
    return 1 if failed else 0


def main(tests):
    if not os.path.exists(BIN):
        print("Bail out! %s is not built" % BIN)
        sys.exit(1)
    sys.exit(run_tests(tests))
