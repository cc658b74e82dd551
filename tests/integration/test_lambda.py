"""test_lambda.py: the AWS Lambda custom runtime against a Runtime API
emulator written here (a loopback HTTP server with the documented routes:
invocation/next, invocation/{id}/response, invocation/{id}/error,
init/error), which feeds events of the recorded shapes: API Gateway HTTP
API / function URL (payload 2.0), REST (payload 1.0) and ALB events, a JSON
POST, a multipart upload in a base64 body, a thumb answered in base64, a
body over Lambda's 6 MB, an event of no known shape, and a start-up
failure (a local store without lambda_allow_local); S3 events completing
uploads PUT to s3rver; deadlines that cut a stalled S3 call (s3rver
behind a fault proxy) and a stalled MongoDB command (a scripted peer);
and the deployable bundle run from an empty directory."""
import base64
import datetime
import http.server
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

from mongo_peer import ensure_mockupdb

ensure_mockupdb()  # may re-execute under /usr/bin/python3: before any output

from bson import ObjectId  # noqa: E402  (mockupdb's bson, importable now)

from harness import BIN, SRCDIR, expect, free_port, main, wait_until  # noqa: E402
from images import make_image, multipart  # noqa: E402
from mongo_peer import MongoPeer, background, cursor_reply  # noqa: E402

BASE = "/2018-06-01/runtime"


class Emulator:
    """The Runtime API on a loopback port: events go in with invoke(),
    the runtime's answers come out of answers / errors / init_errors."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers, self.errors, self.init_errors = {}, {}, []
        self.deadlines, self.answered_at = {}, {}
        self.done = threading.Condition()
        emulator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != BASE + "/invocation/next":
                    self.send_error(404)
                    return
                request_id, event = emulator.events.get()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms",
                                 str(emulator.deadlines.get(request_id, 9999999999999)))
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-test")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                doc = json.loads(self.rfile.read(length) or b"null")
                parts = self.path[len(BASE) + 1:].split("/")
                with emulator.done:
                    if parts == ["init", "error"]:
                        emulator.init_errors.append(doc)
                    elif len(parts) == 3 and parts[2] == "response":
                        emulator.answers[parts[1]] = doc
                        emulator.answered_at[parts[1]] = time.time() * 1000
                    elif len(parts) == 3 and parts[2] == "error":
                        emulator.errors[parts[1]] = doc
                    emulator.done.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=60, deadline_ms=None):
        """Queues event (with deadline_ms, epoch milliseconds, when given);
        returns ("response" or "error", document)."""
        request_id = str(uuid.uuid4())
        self.deadlines[request_id] = deadline_ms or 9999999999999
        self.events.put((request_id, event))
        with self.done:
            self.done.wait_for(lambda: request_id in self.answers or
                               request_id in self.errors, timeout=timeout)
        if request_id in self.answers:
            return "response", self.answers[request_id]
        if request_id in self.errors:
            return "error", self.errors[request_id]
        raise AssertionError("no answer to %r" % event)

    def expect_answered_before(self, deadline):
        """Fails unless the invocation given deadline (epoch ms) was
        answered before it."""
        request_id = [k for k, v in self.deadlines.items() if v == deadline][0]
        expect(self.answered_at[request_id] < deadline,
               "answered %.0f ms after the deadline"
               % (self.answered_at[request_id] - deadline))

    def close(self):
        self.server.shutdown()


def http_v2(method, path, body=None, headers=None, query="", encoded=False):
    # API Gateway always names the host it was called on.
    event = {"version": "2.0", "rawPath": path, "rawQueryString": query,
             "headers": dict({"host": "abc123.execute-api.eu-west-1.amazonaws.com"},
                             **(headers or {})),
             "requestContext": {"http": {"method": method, "path": path},
                                "domainName": "abc123.execute-api.eu-west-1.amazonaws.com"},
             "isBase64Encoded": encoded}
    if body is not None:
        event["body"] = body
    return event


def rest_v1(method, path, params=None):
    # API Gateway REST sends each parameter and header in both forms.
    return {"httpMethod": method, "path": path, "queryStringParameters": params,
            "multiValueQueryStringParameters":
                {k: [v] for k, v in params.items()} if params else None,
            "headers": {"host": "example"}, "multiValueHeaders": {"host": ["example"]},
            "isBase64Encoded": False, "body": None}


def start_runtime(emulator, config):
    """The program in Lambda mode with config; (process, directory)."""
    directory = tempfile.mkdtemp(prefix="bp-it-lambda-")
    path = os.path.join(directory, "bandpics.conf")
    with open(path, "w") as f:
        f.write("data_dir = %s\n" % os.path.join(directory, "data"))
        for key, value in config.items():
            f.write("%s = %s\n" % (key, value))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDPICS_")}
    env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % emulator.port
    log = open(os.path.join(directory, "runtime.log"), "w")
    proc = subprocess.Popen([BIN, "--config", path], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    return proc, directory


def stop_runtime(proc, directory):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with open(os.path.join(directory, "runtime.log")) as f:
        text = f.read()
    shutil.rmtree(directory, ignore_errors=True)
    for mark in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        expect(mark not in text, "sanitizer report: " + text[-3000:])


def test_start_up_failure_goes_to_init_error():
    """A local store without lambda_allow_local, and a configuration that
    does not load, are posted to init/error; a Runtime API that does not
    answer ends the runtime with status 1 and says so."""
    for config, says in (({"auth_mode": "off"}, "MongoDB"),
                         ({"lambda_allow_local": 1, "max_body_bytes": "lots"},
                          "max_body_bytes: not a valid size")):
        emulator = Emulator()
        proc, directory = start_runtime(emulator, config)
        try:
            expect(proc.wait(timeout=60) == 1, "the runtime did not stop")
            expect(emulator.init_errors and
                   says in emulator.init_errors[0]["errorMessage"] and
                   emulator.init_errors[0]["errorType"] == "Runtime.InitError",
                   repr(emulator.init_errors))
        finally:
            stop_runtime(proc, directory)
            emulator.close()
    emulator = Emulator()
    emulator.close()  # its port, now with nothing behind it
    emulator.server.server_close()
    proc, directory = start_runtime(emulator, {"lambda_allow_local": 1, "auth_mode": "off"})
    try:
        expect(proc.wait(timeout=60) == 1, "the runtime did not stop")
        with open(os.path.join(directory, "runtime.log")) as f:
            log = f.read()
        expect("no invocation from the Runtime API" in log, log[-2000:])
    finally:
        stop_runtime(proc, directory)


def test_http_events_are_served():
    emulator = Emulator()
    proc, directory = start_runtime(emulator, {"auth_mode": "off",
                                               "lambda_allow_local": 1})
    try:
        kind, doc = emulator.invoke(http_v2("GET", "/"))
        expect(kind == "response" and doc["statusCode"] == 200 and
               json.loads(doc["body"])["service"] == "bandpics", repr(doc))
        # A JSON POST, then reading it back (payload 2.0).
        kind, doc = emulator.invoke(http_v2(
            "POST", "/image_groups", json.dumps({"name": "on lambda"}),
            {"content-type": "application/json"}))
        expect(doc["statusCode"] == 201, repr(doc))
        group = json.loads(doc["body"])
        kind, doc = emulator.invoke(http_v2("GET", "/image_groups/" + group["id"]))
        expect(doc["statusCode"] == 200 and
               json.loads(doc["body"])["name"] == "on lambda", repr(doc))
        kind, doc = emulator.invoke(http_v2(
            "POST", "/image_groups", json.dumps({"name": "second"}),
            {"content-type": "application/json"}))
        expect(doc["statusCode"] == 201, repr(doc))
        # Payload 1.0 (API Gateway REST) with query parameters.
        kind, doc = emulator.invoke(rest_v1("GET", "/image_groups", {"limit": "1"}))
        expect(doc["statusCode"] == 200 and len(json.loads(doc["body"])) == 1 and
               doc["headers"].get("X-Total-Count") == "2", repr(doc))
        # ALB target group events: with multi-value headers on, only the
        # multi-value forms come (the query as the client sent it), and
        # lists go back; without, single values. A status line both ways.
        elb = {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:"
                                         "eu-west-1:1:targetgroup/b/1"}}
        alb_multi = {"requestContext": elb, "httpMethod": "GET", "path": "/image_groups",
                     "multiValueQueryStringParameters": {"limit": ["1"], "offset": ["1"]},
                     "multiValueHeaders": {"host": ["alb.example"],
                                           "accept": ["text/html", "*/*"]},
                     "body": "", "isBase64Encoded": False}
        kind, doc = emulator.invoke(alb_multi)
        groups = json.loads(doc["body"])
        expect(doc["statusCode"] == 200 and doc["statusDescription"] == "200 OK" and
               doc["multiValueHeaders"]["X-Total-Count"] == ["2"] and len(groups) == 1 and
               groups[0]["name"] == "on lambda", repr(doc))
        alb_single = {"requestContext": elb, "httpMethod": "GET", "path": "/image_groups",
                      "queryStringParameters": {"limit": "1"},
                      "headers": {"host": "alb.example"}, "body": "",
                      "isBase64Encoded": False}
        kind, doc = emulator.invoke(alb_single)
        expect(doc["statusCode"] == 200 and doc["statusDescription"] == "200 OK" and
               len(json.loads(doc["body"])) == 1, repr(doc))
        # A multipart upload in a base64 body; its thumb comes back in base64.
        ctype, body = multipart([], [("image", "l.jpg", make_image(640, 480, "jpg"),
                                      "image/jpeg")])
        kind, doc = emulator.invoke(http_v2(
            "POST", "/images", base64.b64encode(body).decode(),
            {"content-type": ctype}, encoded=True))
        expect(doc["statusCode"] == 201, repr(doc)[:500])
        image = json.loads(doc["body"])
        kind, doc = emulator.invoke(http_v2("GET", "/images/%s/thumb" % image["id"]))
        expect(doc["statusCode"] == 200 and doc["isBase64Encoded"] is True and
               base64.b64decode(doc["body"])[:2] == b"\xff\xd8", repr(doc)[:300])
        # A body over Lambda's 6 MB: 413 naming presigned uploads; a body
        # that is not the base64 it claims: 400. Both with the headers
        # every answer has.
        big = base64.b64encode(b"\0" * (5 * 1024 * 1024)).decode()
        refused = {}
        for body, status, says in ((big, 413, "presigned"), ("!!not base64!!", 400, "base64")):
            kind, doc = emulator.invoke(http_v2("POST", "/images", body,
                                                {"content-type": "image/jpeg"},
                                                encoded=True))
            expect(kind == "response" and doc["statusCode"] == status and
                   says in json.loads(doc["body"])["detail"] and
                   len(doc["headers"]["X-Request-Id"]) == 36 and
                   doc["headers"]["X-Content-Type-Options"] == "nosniff", repr(doc)[:300])
            refused[doc["headers"]["X-Request-Id"]] = status
        # A named stage of an HTTP API is in front of the path.
        staged = http_v2("GET", "/prod/image_groups", query="limit=1")
        staged["requestContext"]["stage"] = "prod"
        kind, doc = emulator.invoke(staged)
        expect(doc["statusCode"] == 200 and len(json.loads(doc["body"])) == 1, repr(doc))
        # URLs the API forms keep the stage, and the scheme and port the
        # client used.
        staged = http_v2(
            "POST", "/prod/image_groups", json.dumps({"name": "urls", "images": ["u.jpg"]}),
            {"content-type": "application/json", "x-forwarded-proto": "https",
             "x-forwarded-port": "443"})
        staged["requestContext"]["stage"] = "prod"
        kind, doc = emulator.invoke(staged)
        url = json.loads(doc["body"])["images"][0]["presigned_url"]
        expect(url.startswith("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/uploads/"),
               url)
        expect(doc["headers"]["Location"].startswith("/prod/image_groups/"), repr(doc))
        # An event of no known shape: an invocation error; the loop goes on.
        kind, doc = emulator.invoke({"hello": "world"})
        expect(kind == "error" and doc["errorType"] == "Bandpics.UnknownEvent", repr(doc))
        kind, doc = emulator.invoke(http_v2("GET", "/healthz"))
        expect(doc["statusCode"] == 200, repr(doc))
        # The request line names the invocation and its X-Ray trace.
        with open(os.path.join(directory, "runtime.log")) as f:
            lines = [json.loads(l) for l in f if l.startswith("{")]
        healthz = [l for l in lines if l.get("type") == "request" and
                   l.get("route") == "/healthz"]
        expect(healthz and healthz[-1]["trace_id"] == "Root=1-test" and
               len(healthz[-1]["request_id"]) == 36, repr(healthz[-1:]))
        # So do the runtime's own refusals; invocation errors are logged.
        logged = {l["request_id"]: l["status"] for l in lines
                  if l.get("type") == "request" and l.get("request_id") in refused}
        expect(logged == refused, "%r, not %r" % (logged, refused))
        expect(any("Bandpics.UnknownEvent" in l.get("msg", "") for l in lines),
               "the unknown event is not logged")
    finally:
        stop_runtime(proc, directory)
        emulator.close()


def s3_event(key):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
                         "awsRegion": "eu-west-1", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": "bandpics"},
                                "object": {"key": key, "size": 1}}}]}


def test_s3_events_complete_pending_uploads():
    """Files in S3 (s3rver): the uploads of a new group go to their
    presigned URLs; S3 object-created events for them (directly, in an
    SQS message, in an SNS message in SQS) complete each pending image,
    whose thumb is then a redirect to the bucket; with the bucket out of
    reach the event is an invocation error (Lambda retries it); an upload
    that is no image is refused; the same event again changes nothing; a
    key of no pending image is counted and left."""
    from direct_uploads import http_request, put_file
    from s3rver import S3rver
    s3 = S3rver("lambda-events")
    emulator = Emulator()
    proc, directory = start_runtime(emulator, {
        "auth_mode": "off", "lambda_allow_local": 1,
        "blob_url": "s3://lambda-events/live", "s3_endpoint": s3.endpoint,
        "s3_access_key_id": "S3RVER", "s3_secret_access_key": "S3RVER"})
    try:
        kind, doc = emulator.invoke(http_v2(
            "POST", "/image_groups",
            json.dumps({"name": "direct", "images": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]}),
            {"content-type": "application/json"}))
        expect(doc["statusCode"] == 201, repr(doc))
        items = json.loads(doc["body"])["images"]
        keys = []
        for n, item in enumerate(items):
            kind, doc = emulator.invoke(http_v2("GET", "/images/" + item["id"]))
            expect(json.loads(doc["body"])["status"] == "pending", repr(doc))
            # (A read after the PUT would complete it: the event must.)
            data = make_image(200 + n, 100, "jpg") if n < 3 else b"not an image" * 100
            status, body = put_file(item, data)
            expect(status == 200, "PUT to the bucket: %d %r" % (status, body[:200]))
            # The object's key, as S3 names it in the event (URL-encoded).
            path = urllib.parse.urlsplit(item["presigned_url"]).path
            keys.append(urllib.parse.quote(path[len("/lambda-events/"):]))
        direct = s3_event(keys[0])
        sqs = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(s3_event(keys[1]))}]}
        sns_in_sqs = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(
            {"Type": "Notification", "Message": json.dumps(s3_event(keys[2]))})}]}
        # The bucket out of reach: an invocation error, which makes Lambda
        # retry the event (or SQS deliver it again); then it completes.
        s3.stop()
        kind, doc = emulator.invoke(direct)
        expect(kind == "error" and doc["errorType"] == "Bandpics.Unavailable", repr(doc))
        s3.start()
        for event in (direct, sqs, sns_in_sqs):
            kind, doc = emulator.invoke(event)
            expect(kind == "response" and doc["completed"] == 1, repr(doc))
        for n, item in enumerate(items[:3]):
            kind, doc = emulator.invoke(http_v2("GET", "/images/" + item["id"]))
            image = json.loads(doc["body"])
            expect(image["status"] == "ready" and image["width"] == 200 + n, repr(image))
        # An upload that is no image: refused and removed; still pending.
        kind, doc = emulator.invoke(s3_event(keys[3]))
        expect(doc["refused"] == 1 and doc["completed"] == 0, repr(doc))
        kind, doc = emulator.invoke(http_v2("GET", "/images/" + items[3]["id"]))
        expect(json.loads(doc["body"])["status"] == "pending", repr(doc))
        # No nginx to send files: the thumb is a redirect to the bucket.
        kind, doc = emulator.invoke(http_v2("GET", "/images/%s/thumb" % items[0]["id"]))
        expect(doc["statusCode"] == 302, repr(doc)[:300])
        status, _, body = http_request(doc["headers"]["Location"])
        expect(status == 200 and body[:2] == b"\xff\xd8", "thumb from the bucket: %d" % status)
        kind, doc = emulator.invoke(direct)
        expect(doc["completed"] == 0 and doc["unchanged"] == 1, repr(doc))
        kind, doc = emulator.invoke(s3_event("live/incoming/%s/1" % ("f" * 24)))
        expect(doc["completed"] == 0 and doc["unmatched"] == 1, repr(doc))
    finally:
        stop_runtime(proc, directory)
        emulator.close()
        s3.close()


def test_deadline_bounds_a_stalled_s3_call():
    """Files in S3 (s3rver behind a fault proxy): with every PUT held for
    30 s, an upload whose invocation has 3 s left is answered with an
    error status before its deadline, and the loop serves the next
    invocation once S3 answers again."""
    from fault_proxy import FaultProxy
    from s3rver import S3rver
    s3 = S3rver("lambda-bucket")
    proxy = FaultProxy(s3.port)
    emulator = Emulator()
    proc, directory = start_runtime(emulator, {
        "auth_mode": "off", "lambda_allow_local": 1,
        "blob_url": "s3://lambda-bucket/live",
        "s3_endpoint": "http://127.0.0.1:%d" % proxy.port,
        "s3_access_key_id": "S3RVER", "s3_secret_access_key": "S3RVER",
        "s3_timeout_ms": 20000})
    try:
        ctype, body = multipart([], [("image", "s.jpg", make_image(320, 240, "jpg"),
                                      "image/jpeg")])
        upload = http_v2("POST", "/images", base64.b64encode(body).decode(),
                         {"content-type": ctype}, encoded=True)
        kind, doc = emulator.invoke(upload)
        expect(doc["statusCode"] == 201, "S3 works: %r" % doc)
        proxy.delay("PUT", 30)
        deadline = int(time.time() * 1000) + 3000
        kind, doc = emulator.invoke(upload, deadline_ms=deadline)
        expect(kind == "response" and doc["statusCode"] >= 500, repr(doc))
        emulator.expect_answered_before(deadline)
        proxy.clear()
        kind, doc = emulator.invoke(http_v2("GET", "/healthz"))
        expect(doc["statusCode"] == 200, repr(doc))
    finally:
        stop_runtime(proc, directory)
        emulator.close()
        proxy.close()
        s3.close()


def test_deadline_bounds_a_stalled_mongodb_call():
    """The store is a scripted MongoDB peer: a find it takes and never
    answers, in an invocation with 3 s left (mongo_timeout_ms 10 s, so
    the driver alone would wait 50 s), is answered 503 before the
    deadline; the connection is opened again and the next invocation is
    served from the peer. An insert of images cut at the deadline is
    undone (images, then the new group) before the answer."""
    peer = MongoPeer(server_selection_timeout_ms=10000).start()
    emulator = Emulator()
    proc, directory = start_runtime(emulator, dict(
        peer.config(), auth_mode="off", lambda_allow_local=1))
    try:
        gid = ObjectId()
        deadline = int(time.time() * 1000) + 3000
        pending = background(emulator.invoke, http_v2("GET", "/image_groups/%s" % gid),
                             deadline_ms=deadline)
        stalled = peer.receive("find", "image_groups", filter={"_id": gid}, timeout=30)
        kind, doc = pending.result(timeout=60)
        expect(kind == "response" and doc["statusCode"] == 503 and
               "mongodb" in json.loads(doc["body"])["detail"], repr(doc))
        emulator.expect_answered_before(deadline)
        try:
            stalled.hangup()
        except Exception:  # the driver closed it already
            pass
        pending = background(emulator.invoke, http_v2("GET", "/image_groups/%s" % gid))
        peer.expect("find", "image_groups", filter={"_id": gid}, timeout=30,
                    reply=cursor_reply([{"_id": gid, "name": "Roxy", "description": None,
                                         "event": None,
                                         "created_at": datetime.datetime(2024, 5, 1),
                                         "updated_at": datetime.datetime(2024, 5, 1)}],
                                       "image_groups"))
        peer.expect("find", "images", filter={"group": gid}, timeout=30,
                    reply=cursor_reply([], "images"))
        kind, doc = pending.result(timeout=60)
        expect(doc["statusCode"] == 200 and json.loads(doc["body"])["name"] == "Roxy",
               repr(doc))
        # A new group with an upload: its images' insert is cut at the
        # deadline, and the group and the images are deleted again before
        # the answer, so that nothing half made is left.
        deadline = int(time.time() * 1000) + 3000
        pending = background(emulator.invoke, http_v2(
            "POST", "/image_groups", json.dumps({"name": "cut", "images": ["a.jpg"]}),
            {"content-type": "application/json"}), deadline_ms=deadline)
        # (The name is made unique among the group's images first.)
        peer.expect("find", "images", timeout=30, reply=cursor_reply([], "images"))
        group = peer.receive("insert", "image_groups", timeout=30)
        group.answer({"n": 1})
        stalled = peer.receive("insert", "images", timeout=30)
        image_id = stalled["documents"][0]["_id"]
        peer.expect("delete", "images", timeout=30, reply={"n": 1},
                    deletes=[{"q": {"_id": {"$in": [image_id]}}, "limit": 0}])
        peer.expect("delete", "image_groups", timeout=30, reply={"n": 1},
                    deletes=[{"q": {"_id": group["documents"][0]["_id"]}, "limit": 1}])
        kind, doc = pending.result(timeout=60)
        expect(doc["statusCode"] == 503, repr(doc))
        emulator.expect_answered_before(deadline)
        try:
            stalled.hangup()
        except Exception:
            pass
    finally:
        stop_runtime(proc, directory)
        emulator.close()
        peer.stop()


def test_deadline_bounds_the_signing_key_read():
    """Writes with a Cognito token: the issuer's key set is read from a
    server that takes the connection and never answers (the read's own
    timeout is 5 s). An invocation with 3 s left is answered 503 before
    its deadline."""
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # never accepted: connections wait in the backlog
    emulator = Emulator()
    proc, directory = start_runtime(emulator, {
        "lambda_allow_local": 1, "auth_mode": "writes",
        "auth_issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bp",
        "auth_audience": "client1",
        "auth_jwks_url": "http://127.0.0.1:%d/jwks.json" % silent.getsockname()[1]})
    try:
        def part(doc):
            return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
        now = int(time.time())
        token = ".".join([part({"alg": "RS256", "kid": "k1", "typ": "JWT"}),
                          part({"sub": "u1", "client_id": "client1", "token_use": "access",
                                "iss": "https://cognito-idp.eu-west-1.amazonaws.com/"
                                       "eu-west-1_Bp", "iat": now, "exp": now + 600}),
                          base64.urlsafe_b64encode(b"s" * 256).rstrip(b"=").decode()])
        deadline = int(time.time() * 1000) + 3000
        kind, doc = emulator.invoke(http_v2(
            "POST", "/image_groups", json.dumps({"name": "x"}),
            {"content-type": "application/json", "authorization": "Bearer " + token}),
            deadline_ms=deadline)
        expect(kind == "response" and doc["statusCode"] == 503 and
               "signing keys" in json.loads(doc["body"])["detail"], repr(doc))
        emulator.expect_answered_before(deadline)
    finally:
        stop_runtime(proc, directory)
        emulator.close()
        silent.close()


def test_bundle_runs_from_an_empty_directory():
    """deploy/lambda/bundle packs the program under test; unpacked into an
    empty directory, its bootstrap runs with a clean environment (no
    library path, configuration from BANDPICS_* variables, the data
    directory under TMPDIR as Lambda's /tmp) against the emulator, serves
    a JPEG and a PNG upload (an ImageMagick coder from the bundle) with an
    API key made by `bootstrap --key-create`, and every shared object it
    maps comes from the bundle."""
    work = tempfile.mkdtemp(prefix="bp-it-lambda-zip-")
    emulator = Emulator()
    proc = None
    try:
        bundle = os.path.join(work, "bandpics-lambda.zip")
        subprocess.run([os.path.join(SRCDIR, "deploy", "lambda", "bundle"), BIN, bundle],
                       check=True, capture_output=True, timeout=300)
        task = os.path.join(work, "task")
        os.makedirs(task)
        subprocess.run(["unzip", "-q", bundle, "-d", task], check=True)
        env = {"PATH": "/usr/bin:/bin",
               "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % emulator.port,
               "TMPDIR": os.path.join(work, "tmp"),  # stands for Lambda's /tmp
               "BANDPICS_LAMBDA_ALLOW_LOCAL": "1",
               "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
               "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "")}
        os.makedirs(env["TMPDIR"])
        # An API key in the local store, as deploy/lambda/README.md says.
        made = subprocess.run([os.path.join(task, "bootstrap"), "--key-create", "trial",
                               "--role", "admin"], cwd=task, env=env,
                              capture_output=True, text=True, timeout=60)
        expect(made.returncode == 0 and made.stdout.startswith("bpk_"),
               made.stdout + made.stderr)
        key = made.stdout.strip()
        log = open(os.path.join(work, "bootstrap.log"), "w")
        proc = subprocess.Popen([os.path.join(task, "bootstrap")], cwd=task, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        kind, doc = emulator.invoke(http_v2("GET", "/"))
        expect(kind == "response" and doc["statusCode"] == 200, repr(doc))
        for ext, ctype in (("jpg", "image/jpeg"), ("png", "image/png")):
            data = make_image(320, 240, ext)
            kind, doc = emulator.invoke(http_v2(
                "POST", "/images", base64.b64encode(data).decode(),
                {"content-type": ctype, "authorization": "Bearer " + key},
                query="filename=b." + ext, encoded=True))
            expect(doc["statusCode"] == 201, "%s: %r" % (ext, doc))
        mapped = set()
        with open("/proc/%d/maps" % proc.pid) as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if ".so" in os.path.basename(path):
                    mapped.add(path)
        outside = sorted(p for p in mapped if not p.startswith(task + "/"))
        expect(mapped and not outside, "libraries from outside the bundle: %r" % outside)
        data_dir = os.path.join(env["TMPDIR"], "bandpics")
        expect(os.path.isdir(os.path.join(data_dir, "tmp")) and
               os.path.isfile(os.path.join(data_dir, "bandpics.db")),
               "the data directory is not under TMPDIR: %r" % os.listdir(env["TMPDIR"]))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        emulator.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main([test_start_up_failure_goes_to_init_error, test_http_events_are_served,
          test_s3_events_complete_pending_uploads, test_deadline_bounds_a_stalled_s3_call,
          test_deadline_bounds_a_stalled_mongodb_call,
          test_deadline_bounds_the_signing_key_read, test_bundle_runs_from_an_empty_directory])
