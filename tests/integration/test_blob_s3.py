"""test_blob_s3.py: the S3 blob backend against s3rver, through tests/test_blob.

Starts s3rver (s3rver.py) and runs the built tests/test_blob with the
BANDPICS_TEST_S3_* variables pointing at it, so that the blob contract that
the local backend passes in `make check` (put, open, remove, move, stat,
list) runs against S3 too, with a 30 MiB file that must be streamed and come
back byte for byte, a listing longer than one ListObjectsV2 page, and the key
prefix. The C tests ask this driver, over a pair of pipes
(BANDPICS_TEST_S3_CONTROL), to stop, restart, pause and resume s3rver; they
check that every operation then fails with BP_EUNAVAILABLE at once (refused)
or within the request timeout (stalled), and works again afterwards on the
same handle. The same contract runs again with virtual-hosted URLs.
s3rver does not verify signatures; that the signing matches AWS's is
tests/test_sigv4.c's and libcurl's business.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.server
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from harness import BIN, expect, run_tests
from s3rver import S3rver, S3rverMissing

TEST_BLOB = os.environ.get("BANDPICS_TEST_BLOB",
                           os.path.join(os.path.dirname(BIN), "tests", "test_blob"))
BIG_BYTES = 30 * 1024 * 1024
REFUSED_LIMIT_MS = 2000          # OUTAGE_LIMIT_MS in test_blob.c
STALL_LIMIT_MS = 800 + 1500      # SILENT_TIMEOUT_MS + SILENT_MARGIN_MS
STREAMING_RSS_SLACK_KB = 12 * 1024   # well under the 29 MiB a copy would cost
S3_TESTS = [
    "test_bp_blob_put_file_then_open",
    "test_bp_blob_put_file_empty",
    "test_bp_blob_put_file_missing_source",
    "test_bp_blob_put_file_streams_big_file",
    "test_bp_blob_rejects_invalid_keys",
    "test_bp_blob_remove_is_idempotent",
    "test_bp_blob_move_replaces_target",
    "test_bp_blob_stat_reports_size_and_time",
    "test_bp_blob_list_filters_by_prefix",
    "test_bp_blob_s3_prefix_maps_to_object_names",
    "test_bp_blob_s3_list_follows_pages",
    "test_bp_blob_s3_presigned_put_url_names_the_object",
    "test_bp_blob_s3_outage_and_recovery",
]

CHECKED_SECRET = "bp-checked-secret/+="   # what CheckingS3 signs with
PAGE_SIZE = 1000                          # S3's, and s3rver's, listing page

s3 = None
runs = {}   # addressing -> Run


def note(text):
    for line in text.splitlines():
        print("# " + line, flush=True)


class Run:
    """One run of tests/test_blob: its TAP results and comment lines."""

    def __init__(self, status, output, seconds, commands, max_rss_kb):
        self.status = status
        self.output = output
        self.seconds = seconds
        self.commands = commands
        self.max_rss_kb = max_rss_kb
        self.results = {}
        for line in output.splitlines():
            m = re.match(r"^(ok|not ok) \d+( # SKIP)?( -)? (\S+)", line)
            if m:
                self.results[m.group(4)] = ("skip" if m.group(2) else m.group(1))

    def comments(self, pattern):
        return [m for m in (re.search(pattern, line) for line in self.output.splitlines())
                if m]

    def check_passed(self, names):
        problems = ["%s: %s" % (n, self.results.get(n, "did not run"))
                    for n in names if self.results.get(n) != "ok"]
        expect(self.status == 0 and not problems,
               "test_blob exited %s; %s\n%s" % (self.status, problems, self.output[-6000:]))


def control_loop(commands_fd, replies_fd, done):
    """Serves the C tests' requests to act on s3rver until they close the pipe."""
    actions = {"stop": s3.stop, "start": s3.start, "pause": s3.pause,
               "resume": s3.resume}
    with os.fdopen(commands_fd, "r") as commands, os.fdopen(replies_fd, "w") as replies:
        for line in commands:
            command = line.strip()
            try:
                actions[command]()
                done.append(command)
                replies.write("ok\n")
            except Exception as e:  # the C side reports the failed command
                done.append("%s failed: %s" % (command, e))
                replies.write("error\n")
            replies.flush()


def run_test_blob(addressing="path", pattern="s3/*", big_bytes=BIG_BYTES, timeout=600,
                  endpoint=None):
    """Runs the tests of tests/test_blob that match pattern against s3rver
    (or another endpoint, then without the storage control channel)."""
    env = dict(os.environ)
    env.update(s3.env())
    if endpoint is not None:
        env["BANDPICS_TEST_S3_ENDPOINT"] = endpoint
        env["BANDPICS_TEST_S3_SECRET_ACCESS_KEY"] = CHECKED_SECRET
    elif addressing == "virtual":
        # <bucket>.s3.localhost: libcurl resolves *.localhost to loopback,
        # and s3rver (--service-endpoint localhost) reads the bucket from it.
        env["BANDPICS_TEST_S3_ENDPOINT"] = s3.virtual_endpoint
        env["BANDPICS_TEST_S3_ADDRESSING"] = "virtual"
    env["BANDPICS_TEST_BLOB_BIG_BYTES"] = str(big_bytes)
    env["BANDPICS_TEST_BLOB_FILTER"] = pattern
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    commands_r, commands_w = os.pipe()
    replies_r, replies_w = os.pipe()
    if endpoint is None:
        env["BANDPICS_TEST_S3_CONTROL"] = "%d,%d" % (commands_w, replies_r)
    done = []
    start = time.monotonic()
    proc = subprocess.Popen([TEST_BLOB], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, pass_fds=(commands_w, replies_r))
    os.close(commands_w)
    os.close(replies_r)
    server = threading.Thread(target=control_loop, args=(commands_r, replies_w, done),
                              daemon=True)
    server.start()
    # wait4, not communicate: the rusage must be this child's alone.
    hung = []
    timer = threading.Timer(timeout, lambda: (hung.append(True), proc.kill()))
    timer.start()
    try:
        output = proc.stdout.read().decode(errors="replace")
        _, wait_status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
    finally:
        timer.cancel()
        proc.stdout.close()
        server.join(timeout=30)
        s3.resume()
        if s3.proc is None:
            s3.start()
    if hung:
        raise AssertionError("test_blob hung for %ds:\n%s" % (timeout, output[-6000:]))
    run = Run(proc.returncode, output, time.monotonic() - start, done, usage.ru_maxrss)
    note("test_blob %s (%s-style): exit %d in %.1fs, max RSS %d kB; storage commands %s"
         % (pattern, addressing, run.status, run.seconds, run.max_rss_kb, run.commands))
    return run


class CheckingS3(http.server.ThreadingHTTPServer):
    """A small in-memory S3 (path style) that, unlike s3rver, checks every
    request's SigV4 signature against CHECKED_SECRET and every upload's
    x-amz-content-sha256 against its body, and answers a failed copy the
    way S3 may: 200 with an <Error> document."""

    daemon_threads = True

    def __init__(self, bucket):
        super().__init__(("127.0.0.1", 0), CheckingHandler)
        self.bucket = bucket
        self.objects = {}       # key -> (bytes, Unix time)
        self.lock = threading.Lock()
        self.checked = 0
        self.failures = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


def aws_quote(text):
    return urllib.parse.quote(text, safe="-_.~")


def signature_problem(method, raw_path, headers, secret):
    """None when the request is signed as AWS would check it, else why not."""
    auth = headers.get("authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "malformed Authorization: %r" % auth
    _, day, region, signed, signature = m.groups()
    amz_date = headers.get("x-amz-date", "")
    payload = headers.get("x-amz-content-sha256")
    if payload is None:
        return "no x-amz-content-sha256"
    names = signed.split(";")
    if "host" not in names or "x-amz-content-sha256" not in names:
        return "host or x-amz-content-sha256 not signed: " + signed
    missing = [n for n in names if n not in headers]
    if missing:
        return "signed headers not sent: %s" % missing
    path, _, query = raw_path.partition("?")
    canonical_path = "/".join(aws_quote(urllib.parse.unquote(segment))
                              for segment in path.split("/"))
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((aws_quote(urllib.parse.unquote(name)),
                          aws_quote(urllib.parse.unquote(value))))
    canonical_query = "&".join("%s=%s" % pair for pair in sorted(pairs))
    canonical = "\n".join(
        [method, canonical_path, canonical_query]
        + ["%s:%s" % (n, " ".join(headers[n].split())) for n in names]
        + ["", signed, payload])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return "signature mismatch; canonical request:\n" + canonical
    return None


class CheckingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                "<Message>%s</Message></Error>" % (code, code)).encode()
        self.reply(status, body, [("Content-Type", "application/xml")])

    def handle_request(self):
        srv = self.server
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = b""
        if self.command == "PUT":
            if "content-length" not in headers:
                return self.error(411, "MissingContentLength")
            body = self.rfile.read(int(headers["content-length"]))
        problem = signature_problem(self.command, self.path, headers, CHECKED_SECRET)
        if problem is None and self.command == "PUT" and \
                headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            problem = "x-amz-content-sha256 is not the body's SHA-256"
        with srv.lock:
            srv.checked += 1
            if problem is not None:
                srv.failures.append("%s %s: %s" % (self.command, self.path, problem))
        if problem is not None:
            return self.error(403, "SignatureDoesNotMatch")
        path, _, query = self.path.partition("?")
        parts = urllib.parse.unquote(path).split("/", 2)
        if len(parts) < 2 or parts[1] != srv.bucket:
            return self.error(404, "NoSuchBucket")
        key = parts[2] if len(parts) > 2 else ""
        if key == "" and self.command == "GET":
            return self.list_objects(urllib.parse.parse_qs(query, keep_blank_values=True))
        with srv.lock:
            if self.command == "PUT" and "x-amz-copy-source" in headers:
                source = urllib.parse.unquote(headers["x-amz-copy-source"]).split("/", 2)
                found = srv.objects.get(source[2]) if len(source) == 3 else None
                if found is None:
                    # S3 may answer a failed copy with 200 and an <Error>.
                    return self.error(200, "NoSuchKey")
                srv.objects[key] = (found[0], time.time())
                return self.reply(200, b"<CopyObjectResult></CopyObjectResult>")
            if self.command == "PUT":
                srv.objects[key] = (body, time.time())
                return self.reply(200)
            if self.command == "DELETE":
                srv.objects.pop(key, None)
                return self.reply(204)
            found = srv.objects.get(key)
        if found is None:
            return self.error(404, "NoSuchKey")
        self.reply(200, found[0], [
            ("Content-Length", str(len(found[0]))),
            ("Last-Modified", email.utils.formatdate(found[1], usegmt=True))])

    def list_objects(self, params):
        srv = self.server
        prefix = params.get("prefix", [""])[0]
        after = ""
        if "continuation-token" in params:
            token = params["continuation-token"][0]
            after = base64.b64decode(token[len("tok+/="):]).decode()
        with srv.lock:
            keys = sorted(k for k in srv.objects if k.startswith(prefix) and k > after)
            page = [(k, srv.objects[k]) for k in keys[:PAGE_SIZE]]
        truncated = len(keys) > PAGE_SIZE
        xml = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>",
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>"
               % (srv.bucket, escape(prefix), len(page)),
               "<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false")]
        if truncated:
            # '+', '/' and '=' must survive the client's query encoding.
            xml.append("<NextContinuationToken>tok+/=%s</NextContinuationToken>"
                       % base64.b64encode(page[-1][0].encode()).decode())
        for key, (data, mtime) in page:
            stamp = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
            xml.append("<Contents><Key>%s</Key><LastModified>%s</LastModified>"
                       "<Size>%d</Size></Contents>"
                       % (escape(key), stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"), len(data)))
        xml.append("</ListBucketResult>")
        self.reply(200, "".join(xml).encode(), [("Content-Type", "application/xml")])

    do_GET = do_PUT = do_HEAD = do_DELETE = handle_request


def contract_run():
    if "path" not in runs:
        runs["path"] = run_test_blob("path")
    return runs["path"]


# -- tests

def test_s3rver_starts_stops_and_restarts_on_its_port():
    expect(s3.answers(), "s3rver does not answer on " + s3.endpoint)
    port = s3.port
    s3.stop()
    expect(not s3.answers(), "s3rver still answers after stop")
    s3.start()
    expect(s3.port == port and s3.answers(), "s3rver did not come back on its port")


def test_blob_contract_against_s3rver():
    run = contract_run()
    run.check_passed(["s3/" + name for name in S3_TESTS])
    expect(len(run.results) == len(S3_TESTS),
           "unexpected tests ran: %s" % sorted(run.results))


def test_big_put_streams_and_comes_back_identical():
    run = contract_run()
    run.check_passed(["s3/test_bp_blob_put_file_streams_big_file"])
    lines = run.comments(r"# s3: (\d+) bytes, put (\d+) ms, get and compare (\d+) ms")
    expect(len(lines) == 1 and int(lines[0].group(1)) == BIG_BYTES,
           "the streaming test did not put %d bytes: %s" % (BIG_BYTES, run.output[-3000:]))
    note("30 MiB: put %s ms, get + byte-for-byte compare %s ms"
         % (lines[0].group(2), lines[0].group(3)))
    # Streamed both ways, a file 30 times bigger costs no more memory.
    only = "s3/test_bp_blob_put_file_streams_big_file"
    small = run_test_blob(pattern=only, big_bytes=1024 * 1024)
    big = run_test_blob(pattern=only, big_bytes=BIG_BYTES)
    small.check_passed([only])
    big.check_passed([only])
    growth_kb = big.max_rss_kb - small.max_rss_kb
    note("max RSS: %d kB with 1 MiB, %d kB with 30 MiB (%+d kB)"
         % (small.max_rss_kb, big.max_rss_kb, growth_kb))
    expect(growth_kb < STREAMING_RSS_SLACK_KB,
           "30 MiB grew the process by %d kB: the file is held in memory" % growth_kb)


def test_storage_stopped_or_stalled_is_unavailable_quickly():
    run = contract_run()
    run.check_passed(["s3/test_bp_blob_s3_outage_and_recovery"])
    expect(run.commands == ["stop", "start", "pause", "resume"],
           "storage commands: %s" % run.commands)
    refused = run.comments(r"# (\w+): object storage: \w+ \S+: connection refused \((\d+) ms\)")
    stalled = run.comments(r"# (\w+): object storage: \w+ \S+: no answer within 800 ms "
                           r"\((\d+) ms\)")
    ops = ["PUT", "GET", "HEAD", "DELETE", "COPY", "LIST"]
    expect(sorted(m.group(1) for m in refused) == sorted(ops),
           "refused operations: %s" % [m.group(0) for m in refused])
    expect(sorted(m.group(1) for m in stalled) == sorted(ops),
           "stalled operations: %s" % [m.group(0) for m in stalled])
    expect(all(int(m.group(2)) < REFUSED_LIMIT_MS for m in refused),
           "a refused request was slow: %s" % [m.group(0) for m in refused])
    expect(all(int(m.group(2)) < STALL_LIMIT_MS for m in stalled),
           "a stalled request outlived its timeout: %s" % [m.group(0) for m in stalled])
    note("stopped: %s ms; stalled: %s ms"
         % ([int(m.group(2)) for m in refused], [int(m.group(2)) for m in stalled]))


def test_blob_contract_with_virtual_hosted_urls():
    run = runs.setdefault("virtual", run_test_blob("virtual"))
    run.check_passed(["s3/" + name for name in S3_TESTS])


def test_blob_contract_with_signatures_checked():
    checking = CheckingS3("bandpics-test")
    try:
        run = run_test_blob(endpoint=checking.endpoint)
        note("%d requests checked, %d refused" % (checking.checked, len(checking.failures)))
        expect(not checking.failures, "\n".join(checking.failures[:5]))
        run.check_passed(["s3/" + name for name in S3_TESTS
                          if name != "test_bp_blob_s3_outage_and_recovery"])
        expect(checking.checked > 2000, "only %d requests" % checking.checked)
    finally:
        checking.shutdown()
        checking.server_close()


def test_missing_s3rver_names_the_install_command():
    import s3rver as module
    saved = module.SCRIPT
    module.SCRIPT = os.path.join(module.PACKAGE_DIR, "node_modules", "nonexistent.js")
    try:
        S3rver(start=False)
        raise AssertionError("no error without s3rver")
    except S3rverMissing as e:
        expect("npm ci --prefix tests/s3rver" in str(e), str(e))
    finally:
        module.SCRIPT = saved


def main():
    global s3
    if not os.path.exists(TEST_BLOB):
        print("Bail out! %s is not built" % TEST_BLOB, flush=True)
        sys.exit(1)
    try:
        s3 = S3rver(bucket="bandpics-test")
    except S3rverMissing as e:
        print("Bail out! %s" % e, flush=True)
        sys.exit(1)
    try:
        status = run_tests([
            test_s3rver_starts_stops_and_restarts_on_its_port,
            test_blob_contract_against_s3rver,
            test_big_put_streams_and_comes_back_identical,
            test_storage_stopped_or_stalled_is_unavailable_quickly,
            test_blob_contract_with_virtual_hosted_urls,
            test_blob_contract_with_signatures_checked,
            test_missing_s3rver_names_the_install_command,
        ])
    finally:
        s3.close()
    sys.exit(status)


if __name__ == "__main__":
    main()
