"""s3rver.py: s3rver (the npm package pinned in tests/s3rver) as a local S3.

    from s3rver import S3rver

    s3 = S3rver(bucket="bandpics-test")       # started on a free loopback port
    stack = harness.Stack(config=s3.config(prefix="photos"), name="s3").start()
    ...
    s3.stop(); s3.start()                     # an outage: same port, same data
    s3.pause(); s3.resume()                   # a stall: connections hang
    s3.close()                                # also done at exit

Each server keeps its objects in a directory of its own under a temporary
directory, answers on 127.0.0.1 at `endpoint`, and has `bucket` created at
start (--configure-bucket). env() gives the BANDPICS_TEST_S3_* variables of
tests/test_blob.c, config() the bandpics.conf keys of a service using it.

What s3rver 3.7.1 does and does not do:
  - the only access key id it accepts is S3RVER (403 InvalidAccessKeyId for
    any other); it does not check signatures or payload hashes, so the
    secret may be anything;
  - ListObjectsV2 continuation tokens are DES-encrypted, which Node 17+
    refuses (ERR_OSSL_EVP_UNSUPPORTED, a 500 on the second page) unless
    node runs with --openssl-legacy-provider, as it does here;
  - it serves path-style URLs, and virtual-hosted ones only for hosts
    <bucket>.s3.<service endpoint>: started with --service-endpoint
    localhost, it takes http://<bucket>.s3.localhost:<port>/ (libcurl
    resolves *.localhost to loopback itself); see virtual_endpoint.

Install it with `npm ci --prefix tests/s3rver` (./deploy/dev test does).
Only the Python standard library is used.
"""
import atexit
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("BANDPICS_SRCDIR", os.path.abspath(os.path.join(HERE, "..", "..")))
PACKAGE_DIR = os.path.join(SRCDIR, "tests", "s3rver")
SCRIPT = os.path.join(PACKAGE_DIR, "node_modules", "s3rver", "bin", "s3rver.js")
ACCESS_KEY_ID = "S3RVER"      # the only key id s3rver accepts
SECRET_ACCESS_KEY = "S3RVER"  # never checked by s3rver
REGION = "us-east-1"
INSTALL_HINT = ("s3rver is not installed: run `npm ci --prefix tests/s3rver` "
                "(needs Node.js and npm; ./deploy/dev test does both)")


class S3rverMissing(RuntimeError):
    """s3rver or Node.js is not installed; the message says what to run."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_path():
    """The node program, or S3rverMissing with what to install."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise S3rverMissing("node is not installed (apt-get install nodejs npm); then "
                            + INSTALL_HINT)
    if not os.path.exists(SCRIPT):
        raise S3rverMissing(INSTALL_HINT + "; %s is missing" % SCRIPT)
    return node


class S3rver:
    """One s3rver process with its data directory, restartable on its port."""

    def __init__(self, bucket="bandpics-test", port=None, start=True):
        self.node = node_path()
        self.bucket = bucket
        self.dir = tempfile.mkdtemp(prefix="bp-s3rver-")
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.port = port or free_port()
        self.proc = None
        self.paused = False
        self.starts = 0
        atexit.register(self.close)
        if start:
            self.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def virtual_endpoint(self):
        """The endpoint for virtual-hosted URLs (s3_addressing = virtual)."""
        return "http://s3.localhost:%d" % self.port

    @property
    def log_path(self):
        return os.path.join(self.dir, "s3rver-%d.log" % self.starts)

    def start(self, timeout=30.0):
        """Starts the server (again: same port, same objects) and waits for it."""
        if self.proc is not None:
            return
        self.starts += 1
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [self.node, "--openssl-legacy-provider", SCRIPT,
             "--directory", self.data_dir, "--address", "127.0.0.1",
             "--port", str(self.port), "--service-endpoint", "localhost",
             "--configure-bucket", self.bucket],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError("s3rver exited with status %s:\n%s"
                                   % (code, self.read_log()[-3000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("s3rver did not answer on %s within %.0fs:\n%s"
                                   % (self.endpoint, timeout, self.read_log()[-3000:]))
            time.sleep(0.05)

    def answers(self):
        """True when an HTTP request to the bucket gets an answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("HEAD", "/" + self.bucket)
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self, timeout=10.0):
        """Stops the server; its port is closed when this returns."""
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def pause(self):
        """Stops the process without closing its port: requests hang."""
        if self.proc is not None and not self.paused:
            os.killpg(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.proc is not None and self.paused:
            os.killpg(self.proc.pid, signal.SIGCONT)
            self.paused = False

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        """Stops the server and removes its data; safe to call twice."""
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def read_log(self):
        text = ""
        for n in range(1, self.starts + 1):
            path = os.path.join(self.dir or "", "s3rver-%d.log" % n)
            try:
                with open(path, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def object_path(self, name):
        """Where s3rver keeps the bytes of the object called name."""
        return os.path.join(self.data_dir, self.bucket, name + "._S3rver_object")

    def env(self):
        """The BANDPICS_TEST_S3_* variables that point tests/test_blob here."""
        return {
            "BANDPICS_TEST_S3_ENDPOINT": self.endpoint,
            "BANDPICS_TEST_S3_BUCKET": self.bucket,
            "BANDPICS_TEST_S3_REGION": REGION,
            "BANDPICS_TEST_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "BANDPICS_TEST_S3_ADDRESSING": "path",
        }

    def config(self, prefix=""):
        """bandpics.conf keys for a service storing its files here."""
        return {
            "blob_url": "s3://%s%s" % (self.bucket, "/" + prefix if prefix else ""),
            "s3_endpoint": self.endpoint,
            "s3_region": REGION,
            "s3_addressing": "path",
            "s3_access_key_id": ACCESS_KEY_ID,
            "s3_secret_access_key": SECRET_ACCESS_KEY,
        }

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
