"""test_s3.py: the API with its files in S3, against s3rver (an
S3-compatible server started on loopback by the test; it does not check
signatures, which tests/test_sigv4.c covers against AWS's vectors).
Every file route, direct and presigned uploads, replace, delete, group
delete, redirects to presigned URLs and to a CDN base URL, and faults:
storage down, a PUT failing half way through a batch, failed deletes
and the orphan sweep that repairs them. s3rver is reached through
fault_proxy.py, which fails chosen requests.
"""
import hashlib
import os
import re
import subprocess
import threading
import time
import urllib.parse

import direct_uploads as flows
from direct_uploads import GPS_JPEG, JPEG, PNG, fetch, http_request, put_file
from fault_proxy import FaultProxy
from harness import BIN, Stack, expect, expect_error, expect_status, main
from images import multipart
from s3rver import S3rver

BUCKET = "bandpics-test"
PREFIX = "live"
s3 = None
proxy = None
stack = None
storage = None


class S3Storage:
    """The bucket's keys below PREFIX, read from s3rver's directory."""

    SUFFIX = "._S3rver_object"

    def keys(self):
        root = os.path.join(s3.data_dir, BUCKET, PREFIX)
        found = []
        for base, _, names in os.walk(root):
            for name in names:
                if name.endswith(self.SUFFIX):
                    path = os.path.join(base, name[:-len(self.SUFFIX)])
                    found.append(os.path.relpath(path, root))
        return sorted(found)


def s3_config(endpoint, **extra):
    config = {"blob_url": "s3://%s/%s" % (BUCKET, PREFIX), "s3_endpoint": endpoint,
              "s3_access_key_id": "S3RVER", "s3_secret_access_key": "S3RVER",
              "s3_timeout_ms": 3000, "max_files": 5, "expire_interval_s": 0}
    config.update(extra)
    return config


def upload_one(data, filename="photo.jpg", fields=()):
    content_type, body = multipart(fields, [("image", filename, data, "image/jpeg")])
    return stack.post("/images", body, headers={"Content-Type": content_type})


def image_count():
    resp = stack.get("/images?limit=1")
    expect_status(resp, 200)
    return int(resp.header("x-total-count"))


def test_start():
    global s3, proxy, stack, storage
    s3 = S3rver(BUCKET)
    proxy = FaultProxy(s3.port)
    stack = Stack(name="s3", config=s3_config("http://127.0.0.1:%d" % proxy.port)).start()
    storage = S3Storage()


def test_upload_and_redirects():
    resp = upload_one(GPS_JPEG, fields=[("description", "opener")])
    expect_status(resp, 201)
    img = resp.json
    expect(img["sha256"] == hashlib.sha256(GPS_JPEG).hexdigest(), repr(img))
    for variant in ("file", "fullsize", "thumb"):
        key = {"file": "original/%s", "fullsize": "fullsize/%s.jpg",
               "thumb": "thumb/%s.jpg"}[variant] % img["id"]
        expect(key in storage.keys(), "%s not in the bucket" % key)
        r = stack.get(img["urls"][variant])
        expect_status(r, 302)
        url = urllib.parse.urlsplit(r.header("location"))
        query = urllib.parse.parse_qs(url.query)
        expect(url.path == "/%s/%s/%s" % (BUCKET, PREFIX, key), url.path)
        expect(query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query, url.query)
        expect(query["X-Amz-Credential"][0].startswith("S3RVER/"), url.query)
        expect(r.header("cache-control") == "private, max-age=150", r.header("cache-control"))
    expect(fetch(stack, img["urls"]["file"]) == GPS_JPEG, "original differs")
    # The original keeps its name through the redirect.
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(
        stack.get(img["urls"]["file"]).header("location")).query)
    expect(query["response-content-disposition"] ==
           ["inline; filename*=UTF-8''photo.jpg"], repr(query))
    # Metadata routes do not touch storage but must agree with it.
    expect(stack.get("/images/" + img["id"]).json == img)
    patched = stack.patch("/images/" + img["id"], {"description": "closer"}).json
    expect(patched["description"] == "closer" and patched["sha256"] == img["sha256"])
    near = stack.get("/images?near=47.5615,-52.7126&radius=1000").json
    expect(img["id"] in [i["id"] for i in near], repr(near))
    img = patched
    expect(fetch(stack, img["urls"]["thumb"])[:2] == b"\xff\xd8")
    # Replace the file (multipart), then delete: objects follow.
    ct, body = multipart([], [("image", "new.png", PNG, "image/png")])
    resp = stack.patch("/images/%s/file" % img["id"], body, headers={"Content-Type": ct})
    expect_status(resp, 200)
    expect(resp.json["content_type"] == "image/png" and resp.json["description"] == "closer")
    expect(fetch(stack, img["urls"]["file"]) == PNG, "replaced file not served")
    expect(not any(k.startswith("staging/") for k in storage.keys()), repr(storage.keys()))
    expect_status(stack.delete("/images/" + img["id"]), 200)
    expect(not any(img["id"] in k for k in storage.keys()), repr(storage.keys()))


def test_group_with_files_and_delete():
    ct, body = multipart([("name", "Night two")],
                         [("images", "a.jpg", JPEG, "image/jpeg"),
                          ("images", "b.jpg", GPS_JPEG, "image/jpeg")])
    resp = stack.post("/image_groups", body, headers={"Content-Type": ct})
    expect_status(resp, 201)
    group = resp.json
    ids = [i["id"] for i in group["images"]]
    # Three files each, and the GPS one's original without GPS data.
    expect(len([k for k in storage.keys() if any(i in k for i in ids)]) == 7,
           repr(storage.keys()))
    gps_id = [i["id"] for i in group["images"] if i["filename"] == "b.jpg"][0]
    expect("public/" + gps_id in storage.keys(), repr(storage.keys()))
    listed = stack.get("/images?group=" + group["id"]).json
    expect(sorted(i["id"] for i in listed) == sorted(ids))
    resp = stack.delete("/image_groups/" + group["id"])
    expect_status(resp, 200)
    expect(resp.json["num_images"] == 2, repr(resp.json))
    expect(not any(any(i in k for i in ids) for k in storage.keys()), repr(storage.keys()))


def test_presigned_group_create_upload_complete():
    gid = flows.flow_group_create_upload_complete(stack, storage)
    item_url = stack.get("/image_groups/" + gid).json["images"][0]
    expect(item_url["status"] == "ready", repr(item_url))


def test_group_reads_complete_arrived_uploads():
    # The web client PUTs to S3 and then only reads the group (and the
    # list): the reads complete what arrived, new files and replacements.
    out = stack.post("/image_groups", {"group": {"name": "client", "images": ["a.jpg",
                                                                          "b.jpg"]}}).json
    a, b = out["images"]
    expect(put_file(a, GPS_JPEG)[0] == 200)
    group = stack.get("/image_groups/" + out["group_id"]).json
    by_name = {i["filename"]: i for i in group["images"]}
    expect(by_name["a.jpg"]["status"] == "ready" and
           by_name["a.jpg"]["data"].get("Make") == "Nikon", repr(by_name["a.jpg"]))
    expect(by_name["b.jpg"]["status"] == "pending", repr(by_name["b.jpg"]))
    expect(put_file(b, JPEG)[0] == 200)
    listed = [g for g in stack.get("/image_groups").json if g["id"] == out["group_id"]][0]
    expect(all(i["status"] == "ready" for i in listed["images"]), repr(listed))
    repl = stack.patch("/images/%s/file" % a["id"], {"image": "c.jpg"}).json
    expect(put_file(repl, JPEG)[0] == 200)
    group = stack.get("/image_groups/" + out["group_id"]).json
    names = sorted(i["filename"] for i in group["images"])
    expect(names == ["b.jpg", "c.jpg"], repr(names))
    expect(not any(k.startswith("incoming/") and out["group_id"] in k for k in storage.keys()))


def test_presigned_urls_are_s3():
    out = stack.post("/image_groups", {"name": "urls", "images": ["s.jpg"]}).json
    url = urllib.parse.urlsplit(out["images"][0]["presigned_url"])
    query = urllib.parse.parse_qs(url.query)
    expect(url.netloc == "127.0.0.1:%d" % proxy.port, url.netloc)
    # Each upload has its own key: incoming/<id>/<expiry in ms>.
    expect(re.fullmatch("/%s/%s/incoming/%s/[0-9]{13}" % (BUCKET, PREFIX,
                                                         out["images"][0]["id"]),
                        url.path), url.path)
    expect(query["X-Amz-SignedHeaders"] == ["content-type;host"], url.query)
    expect(query["X-Amz-Expires"][0] in ("3599", "3600"), url.query)


def test_presigned_add_and_replace():
    flows.flow_add_to_group_and_replace(stack, storage)


def test_presigned_refusals():
    flows.flow_refusals(stack, storage)


def test_presigned_group_delete():
    flows.flow_group_delete(stack, storage)


def test_storage_down_is_503_and_stores_nothing():
    before = image_count()
    s3.stop()
    try:
        started = time.monotonic()
        expect_error(upload_one(JPEG), 503)
        expect(time.monotonic() - started < 10, "storage down took too long")
        expect(image_count() == before, "a record was stored")
        # Presigning needs no storage; completing does.
        out = stack.post("/image_groups", {"name": "down", "images": ["d.jpg"]})
        expect_status(out, 201)
        item = out.json["images"][0]
        expect_error(stack.post("/images/%s/complete" % item["id"]), 503)
        expect(stack.get("/images/" + item["id"]).json["status"] == "pending")
    finally:
        s3.start()
    expect(put_file(item, JPEG)[0] == 200)
    expect(stack.get("/images/" + item["id"]).json["status"] == "ready")
    expect_status(upload_one(JPEG), 201)


def test_failed_put_half_way_leaves_nothing():
    before_keys = storage.keys()
    before = image_count()
    # Three images make nine PUTs; the fifth (the second image's
    # fullsize) and every later one fail.
    proxy.fail("PUT", after=4)
    try:
        ct, body = multipart([("name", "half")],
                             [("images", "%d.jpg" % i, JPEG, "image/jpeg") for i in range(3)])
        resp = stack.post("/image_groups", body, headers={"Content-Type": ct})
        expect_error(resp, 503, "storage")
    finally:
        proxy.clear()
    expect(image_count() == before, "records were stored")
    expect(storage.keys() == before_keys, "objects left: %r" % (
        sorted(set(storage.keys()) - set(before_keys))))
    groups = [g["name"] for g in stack.get("/image_groups?limit=500").json]
    expect("half" not in groups, "the group was stored")


def gc(*args):
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc"] + list(args),
                          capture_output=True, text=True, timeout=120, env=stack.env())
    return proc.returncode, proc.stdout + proc.stderr


def test_failed_delete_is_retried_then_swept():
    img = upload_one(JPEG).json
    proxy.fail("DELETE")
    try:
        resp = stack.delete("/images/" + img["id"])
    finally:
        proxy.clear()
    # The record is gone (never a dangling record); the objects stay,
    # logged as orphans after a second try each.
    expect_status(resp, 200)
    expect_error(stack.get("/images/" + img["id"]), 404)
    left = [k for k in storage.keys() if img["id"] in k]
    expect(len(left) == 3, repr(left))
    expect("orphan files of image %s" % img["id"] in stack.read_logs(), "not logged")
    code, out = gc("--dry-run", "--grace", "0")
    expect(code == 0 and "would remove original/" + img["id"] in out, out)
    expect([k for k in storage.keys() if img["id"] in k] == left, "dry run removed objects")
    code, out = gc("--grace", "0")
    expect(code == 0, out)
    expect(not any(img["id"] in k for k in storage.keys()), out)
    # A record whose thumb vanished gets it made again from the original.
    img = upload_one(JPEG).json
    status, _, _ = http_request("http://127.0.0.1:%d/%s/%s/thumb/%s.jpg"
                                % (s3.port, BUCKET, PREFIX, img["id"]), "DELETE")
    expect(status == 204, "s3rver DELETE answered %d" % status)
    code, out = gc("--grace", "0")
    expect(code == 0 and "thumb missing, making again" in out, out)
    expect("thumb/%s.jpg" % img["id"] in storage.keys(), out)


def test_stale_presigned_url_is_ignored_then_swept():
    out = stack.post("/image_groups", {"name": "stale", "images": ["s.jpg"]}).json
    first = out["images"][0]
    expect(put_file(first, JPEG)[0] == 200)
    expect_status(stack.post("/images/%s/complete" % first["id"]), 200)
    second = stack.patch("/images/%s/file" % first["id"], {"image": "t.png"}).json
    # The old presigned PUT still lands in S3, but under its own key...
    expect(put_file(first, GPS_JPEG)[0] == 200)
    expect_error(stack.post("/images/%s/complete" % first["id"]), 409, "not been uploaded")
    expect(put_file(second, PNG)[0] == 200)
    done = stack.post("/images/%s/complete" % first["id"]).json
    expect(done["sha256"] == hashlib.sha256(PNG).hexdigest(), repr(done))
    # ...and the orphan sweep removes it.
    stale = [k for k in storage.keys() if k.startswith("incoming/" + first["id"])]
    expect(len(stale) == 1, repr(stale))
    code, out = gc("--grace", "0")
    expect(code == 0 and "no longer needed" in out, out)
    expect(not any(k.startswith("incoming/" + first["id"]) for k in storage.keys()), out)


def test_failed_move_into_place_is_reported_then_finished_by_gc():
    out = stack.post("/image_groups", {"name": "move", "images": ["m.jpg"]}).json
    item = out["images"][0]
    expect(put_file(item, GPS_JPEG)[0] == 200)
    # Moving the staged files into place is a server-side copy: fail it.
    proxy.fail("PUT", header="x-amz-copy-source")
    try:
        resp = stack.post("/images/%s/complete" % item["id"])
    finally:
        proxy.clear()
    expect_error(resp, 503, "moved into place")
    code, out_text = gc("--grace", "0")
    # Its staged original (moved last) holds the record's sha256: the
    # whole attempt is finished.
    expect(code == 0 and "finishing the interrupted replacement" in out_text, out_text)
    expect(fetch(stack, "/images/%s/file" % item["id"]) == GPS_JPEG, "original not in place")
    expect(fetch(stack, "/images/%s/thumb" % item["id"])[:2] == b"\xff\xd8")
    expect(not any(k.startswith("staging/") for k in storage.keys()), repr(storage.keys()))


def test_delete_while_files_move_leaves_no_files():
    out = stack.post("/image_groups", {"name": "race", "images": ["d.jpg"]}).json
    item = out["images"][0]
    expect(put_file(item, JPEG)[0] == 200)
    proxy.delay("PUT", 1.5, header="x-amz-copy-source")
    try:
        done = {}
        worker = threading.Thread(target=lambda: done.update(
            resp=stack.post("/images/%s/complete" % item["id"])))
        worker.start()
        # The record turns ready before the moves; delete it then.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                stack.get("/images/" + item["id"]).json.get("status") != "ready":
            time.sleep(0.05)
        expect_status(stack.delete("/images/" + item["id"]), 200)
        worker.join()
    finally:
        proxy.clear()
    expect(done["resp"].status in (200, 404), repr(done["resp"]))
    expect_error(stack.get("/images/" + item["id"]), 404)
    left = [k for k in storage.keys() if item["id"] in k and not k.startswith("staging/")]
    expect(left == [], "files without a record: %r" % left)


def test_stalled_storage_does_not_hold_a_delete():
    ct, body = multipart([("name", "stall")],
                         [("images", "%d.jpg" % i, JPEG, "image/jpeg") for i in range(3)])
    group = stack.post("/image_groups", body, headers={"Content-Type": ct}).json
    s3.pause()
    try:
        started = time.monotonic()
        resp = stack.delete("/image_groups/" + group["id"])
        took = time.monotonic() - started
    finally:
        s3.resume()
    # One timeout (s3_timeout_ms = 3 s), not one per object.
    expect_status(resp, 200)
    expect(took < 6.5, "the delete took %.1f s" % took)
    ids = [i["id"] for i in group["images"]]
    code, out = gc("--grace", "0")
    expect(code == 0, out)
    expect(not any(any(i in k for i in ids) for k in storage.keys()), out)


def test_cdn_base_url():
    global stack
    cdn = "http://127.0.0.1:%d/%s/" % (s3.port, BUCKET)
    own = Stack(name="s3cdn", config=s3_config("http://127.0.0.1:%d" % s3.port,
                                               public_base_url=cdn))
    try:
        own.start()
        previous, stack = stack, own
        try:
            img = upload_one(JPEG).json
            r = own.get(img["urls"]["thumb"])
            expect_status(r, 302)
            expect(r.header("location") == cdn + "%s/thumb/%s.jpg" % (PREFIX, img["id"]),
                   r.header("location"))
            expect(fetch(own, img["urls"]["file"]) == JPEG)
            # An original is never sent through the CDN, whose URLs anyone
            # may edit: its redirect is a presigned URL of the bucket (the
            # test's CDN is the bucket's own address, so only the
            # signature tells them apart).
            r = own.get(img["urls"]["file"])
            expect_status(r, 302)
            expect("X-Amz-Signature=" in r.header("location"), r.header("location"))
        finally:
            stack = previous
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


def test_stop():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()
    proxy.close()
    s3.stop()
    s3.close()


if __name__ == "__main__":
    main([test_start, test_upload_and_redirects, test_group_with_files_and_delete,
          test_group_reads_complete_arrived_uploads,
          test_presigned_group_create_upload_complete, test_presigned_urls_are_s3,
          test_presigned_add_and_replace, test_presigned_refusals,
          test_presigned_group_delete, test_storage_down_is_503_and_stores_nothing,
          test_failed_put_half_way_leaves_nothing, test_failed_delete_is_retried_then_swept,
          test_stale_presigned_url_is_ignored_then_swept,
          test_failed_move_into_place_is_reported_then_finished_by_gc,
          test_delete_while_files_move_leaves_no_files,
          test_stalled_storage_does_not_hold_a_delete, test_cdn_base_url, test_stop])
