"""test_direct_uploads.py: uploads straight to storage on the embedded
default (SQLite and local files), where the upload URL is this API's own
PUT /uploads/<token>: the client flow of direct_uploads.py, the signed
token's checks, expiry, and the orphan sweep (bandpics-fcgi --gc).
"""
import json
import os
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import direct_uploads as flows
from direct_uploads import JPEG, LocalStorage, http_request, put_file
from images import exif_block, with_exif

GPS_JPEG = with_exif(JPEG, exif_block(make="Canon", lat=48.85, lon=2.35))
from harness import BIN, Stack, expect, expect_error, expect_status, main

stack = None
storage = None


def test_start():
    global stack, storage
    stack = Stack(name="direct", config={"max_files": 5, "upload_expires_s": 8,
                                                 "max_body_bytes": "3M",
                                                 "expire_interval_s": 0}).start()
    storage = LocalStorage(stack)


def test_group_create_upload_complete():
    flows.flow_group_create_upload_complete(stack, storage)


def test_add_to_group_and_replace():
    flows.flow_add_to_group_and_replace(stack, storage)


def test_refusals():
    flows.flow_refusals(stack, storage)
    names = ["x%d.jpg" % i for i in range(6)]
    expect_error(stack.post("/image_groups", {"name": "big", "images": names}), 413)


def test_group_delete():
    flows.flow_group_delete(stack, storage)


def new_item(name="t.jpg"):
    group = stack.post("/image_groups", {"name": "Tokens", "images": [name]})
    expect_status(group, 201)
    return group.json["images"][0]


def test_upload_url_is_this_api():
    item = new_item()
    url = urllib.parse.urlsplit(item["presigned_url"])
    expect(url.netloc == "127.0.0.1:%d" % stack.port, item["presigned_url"])
    expect(url.path.startswith("/uploads/" + item["id"] + "."), item["presigned_url"])
    # The URL follows the Host the client used (api_base_url would win),
    # with the port the request came in on.
    resp = stack.post("/image_groups", {"name": "h", "images": ["h.jpg"]},
                      headers={"Host": "photos.example"})
    expect(resp.json["images"][0]["presigned_url"].startswith(
        "http://photos.example:%d/uploads/" % stack.port), repr(resp.json))


def test_token_checks():
    item = new_item()
    url = item["presigned_url"]
    path = urllib.parse.urlsplit(url).path
    token = path.rsplit("/", 1)[1]
    image_id, expires, mac = token.split(".")
    forged = [
        "%s.%s.%s" % (image_id, int(expires) + 3600, mac),     # extended
        "%s.%s.%s" % ("0" * 24, expires, mac),                  # other image
        "%s.%s.%s" % (image_id, expires, "0" * 64),             # wrong MAC
        "%s.%s" % (image_id, expires),                           # malformed
    ]
    for bad in forged:
        resp = stack.request("PUT", "/uploads/" + bad, JPEG,
                             headers={"Content-Type": "image/jpeg"})
        expect_error(resp, 403)
    # The signed Content-Type is the only one accepted.
    expect_error(stack.request("PUT", path, JPEG, headers={"Content-Type": "image/png"}),
                 403, "image/jpeg")
    expect(put_file(item, JPEG)[0] == 200)
    expect_status(stack.post("/images/%s/complete" % item["id"]), 200)
    # Once complete, the URL takes nothing more.
    expect_error(stack.request("PUT", path, JPEG, headers={"Content-Type": "image/jpeg"}),
                 409, "No upload")
    # Only PUT is allowed there.
    expect_error(stack.get(path), 405)


def test_upload_over_body_limit():
    item = new_item()
    big = b"\xff\xd8" + b"\0" * (4 * 1024 * 1024)
    status, _, body = http_request(item["presigned_url"], "PUT", big,
                                   {"Content-Type": "image/jpeg"})
    expect(status == 413, "expected 413, got %d" % status)


def test_expired_upload_refused_and_dropped():
    item = new_item()
    replaced = new_item("r.jpg")
    expect(put_file(replaced, JPEG)[0] == 200)
    ready = stack.post("/images/%s/complete" % replaced["id"]).json
    again = stack.patch("/images/%s/file" % replaced["id"], {"image": "r2.jpg"}).json
    time.sleep(9.2)  # past the uploads' expiry (8 s)
    expect_error(stack.request("PUT", urllib.parse.urlsplit(item["presigned_url"]).path,
                               JPEG, headers={"Content-Type": "image/jpeg"}), 403, "expired")
    # Completing too late drops an image that never had a file...
    expect_error(stack.post("/images/%s/complete" % item["id"]), 404, "expired")
    expect_error(stack.get("/images/" + item["id"]), 404)
    # ...and forgets a replacement that never came, keeping the image.
    expect_error(stack.post("/images/%s/complete" % again["id"]), 409, "expired")
    kept = stack.get("/images/" + replaced["id"]).json
    expect(kept["status"] == "ready" and kept["sha256"] == ready["sha256"] and
           kept["filename"] == "r.jpg", repr(kept))


def test_workers_expire_uploads_themselves():
    own = Stack(name="expiry", config={"upload_expires_s": 1, "expire_interval_s": 1})
    try:
        own.start()
        out = own.post("/image_groups", {"name": "late", "images": ["l.jpg"]}).json
        image_id = out["images"][0]["id"]
        # Nobody reads the image: only the workers' own pass can end it.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and \
                "upload of image %s expired" % image_id not in own.read_logs():
            time.sleep(0.2)
        expect("upload of image %s expired: image deleted" % image_id in own.read_logs(),
               "no expiry in the log: " + own.read_logs()[-2000:])
        expect_error(own.get("/images/" + image_id), 404)
        expect(own.get("/image_groups/" + out["group_id"]).json["images"] == [])
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


def test_completions_and_expiry_race_safely():
    """Workers' expiry passes, auto-completing reads and explicit
    completions all at once on the same uploads: every image ends up
    ready with its file, once."""
    # The uploads expire 8 s after they are made: long enough for the
    # files and completions to arrive first even on a loaded machine.
    own = Stack(name="race", workers=4,
                config={"upload_expires_s": 8, "expire_interval_s": 1, "max_files": 50})
    try:
        own.start()
        names = ["r%d.jpg" % i for i in range(12)]
        made = time.monotonic()
        out = own.post("/image_groups", {"name": "race", "images": names}).json
        for item in out["images"]:
            expect(put_file(item, JPEG)[0] == 200)
        errors = []

        def hammer(item):
            for _ in range(3):
                for resp in (own.post("/images/%s/complete" % item["id"]),
                             own.get("/images/" + item["id"])):
                    if resp.status != 200:
                        errors.append((item["id"], resp.status, resp.body[:200]))

        threads = [threading.Thread(target=hammer, args=(item,))
                   for item in out["images"] for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Past the uploads' expiry and two sweeps: completed images stay.
        time.sleep(max(0.0, made + 8 + 2.5 - time.monotonic()))
        expect(errors == [], repr(errors[:5]))
        images = own.get("/image_groups/" + out["group_id"]).json["images"]
        expect(sorted(i["filename"] for i in images) == sorted(names), repr(images))
        expect(all(i["status"] == "ready" and i["sha256"] for i in images), repr(images))
        for image in images:
            expect(flows.fetch(own, image["urls"]["thumb"])[:2] == b"\xff\xd8")
        leftovers = [k for k in LocalStorage(own).keys()
                     if k.startswith(("staging/", "incoming/"))]
        expect(leftovers == [], repr(leftovers))
        expect("not in place" not in own.read_logs(), own.read_logs()[-2000:])
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


def test_old_upload_url_cannot_be_replayed():
    item = new_item("first.jpg")
    first_path = urllib.parse.urlsplit(item["presigned_url"]).path
    expect(put_file(item, JPEG)[0] == 200)
    expect_status(stack.post("/images/%s/complete" % item["id"]), 200)
    again = stack.patch("/images/%s/file" % item["id"], {"image": "second.jpg"}).json
    resp = stack.request("PUT", first_path, JPEG, headers={"Content-Type": "image/jpeg"})
    expect_error(resp, 403, "replaced")
    expect(put_file(again, JPEG)[0] == 200)
    done = stack.post("/images/%s/complete" % item["id"]).json
    expect(done["filename"] == "second.jpg" and done["status"] == "ready", repr(done))


def test_put_completes_and_a_new_url_replaces_the_file():
    # The web client PUTs and then only reads: the PUT itself processes
    # the file and answers the ready image, as /complete would.
    item = new_item("x.jpg")
    code, body = put_file(item, GPS_JPEG)
    expect(code == 200, "PUT: %d %r" % (code, body[:200]))
    ready = json.loads(body)
    expect(ready["status"] == "ready" and ready["filename"] == "x.jpg" and
           ready["data"].get("Make") == "Canon", repr(ready))
    expect(stack.get("/images/" + item["id"]).json == ready, "a read differs")
    expect(not any(k.startswith("incoming/" + item["id"]) for k in storage.keys()))
    again = stack.patch("/images/%s/file" % item["id"], {"image": "y.jpg"}).json
    code, body = put_file(again, JPEG)
    expect(code == 200, "PUT: %d" % code)
    done = json.loads(body)
    expect(done["filename"] == "y.jpg" and done["status"] == "ready" and
           "Make" not in done["data"], repr(done))
    expect(stack.get("/images/" + item["id"]).json["filename"] == "y.jpg")
    # The old URL no longer works; completing again answers the image.
    expect(put_file(item, JPEG)[0] in (403, 409), "the old URL still works")
    expect_status(stack.post("/images/%s/complete" % item["id"]), 200)
    expect(not any(k.startswith("incoming/" + item["id"]) for k in storage.keys()))


def test_failed_replacement_request_changes_nothing():
    item = new_item("keep.jpg")
    expect(put_file(item, JPEG)[0] == 200)
    ready = stack.post("/images/%s/complete" % item["id"]).json
    resp = stack.patch("/images/%s/file" % item["id"], {"image": "new.jpg"},
                       headers={"Host": "bad_host"})
    expect_error(resp, 422, "Host")
    expect(stack.get("/images/" + item["id"]).json == ready, "the image changed")
    expect_error(stack.post("/image_groups", {"name": "n", "images": None}), 422)


def test_gc_refuses_a_store_that_matches_nothing():
    empty = os.path.join(stack.dir, "empty-files")
    os.makedirs(empty)
    before = stack.get("/images?limit=1").header("x-total-count")
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc", "--grace", "0"],
                          capture_output=True, text=True, timeout=120,
                          env=stack.env({"BANDPICS_BLOB_URL": "file://" + empty}))
    expect(proc.returncode == 1 and "is blob_url" in proc.stderr, proc.stdout + proc.stderr)
    expect(stack.get("/images?limit=1").header("x-total-count") == before)
    # The other way round: a database with no record at all (a mistyped
    # SQLite path makes a new one) against a store of many images.
    files = LocalStorage(stack).keys()
    expect(len(files) > 16, "too few objects (%d) to show it" % len(files))
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc", "--grace", "0"],
                          capture_output=True, text=True, timeout=120,
                          env=stack.env({"BANDPICS_DATABASE_URL": "sqlite://" + os.path.join(
                              stack.dir, "mistyped.db")}))
    expect(proc.returncode == 1 and "is database_url right" in proc.stderr,
           proc.stdout + proc.stderr)
    expect(LocalStorage(stack).keys() == files, "objects were removed")


def gc(*args):
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc"] + list(args),
                          capture_output=True, text=True, timeout=120, env=stack.env())
    return proc.returncode, proc.stdout + proc.stderr


def age(path, seconds=7200):
    past = time.time() - seconds
    os.utime(path, (past, past))


def age_records(*image_ids, seconds=7200):
    """Moves the images' updated_at back by seconds, in the SQLite store
    (the workers keep it open; WAL lets this writer in)."""
    db = sqlite3.connect(os.path.join(stack.data_dir, "bandpics.db"), timeout=60)
    try:
        with db:
            for image_id in image_ids:
                db.execute("UPDATE images SET updated_at = updated_at - ? WHERE id = ?",
                           (seconds * 1000, image_id))
    finally:
        db.close()


def test_gc_finds_and_repairs():
    """--gc removes orphans and repairs or drops images whose files are
    missing, and leaves alone what is younger than the grace period. Age
    is made, not waited for: the old files and records are moved two
    hours back, and the grace period (10 minutes) is far longer than any
    run, so a loaded machine cannot turn a young object old."""
    files = storage.root
    group = stack.post("/image_groups", {"name": "gc", "images": ["g.jpg", "h.jpg"]}).json
    g, h = group["images"]
    for item in (g, h):
        expect(put_file(item, JPEG)[0] == 200)
        expect_status(stack.post("/images/%s/complete" % item["id"]), 200)
    orphan_id = "a" * 24
    for key in ("original/" + orphan_id, "thumb/%s.jpg" % orphan_id,
                "staging/%s/thumb.jpg" % g["id"]):
        path = os.path.join(files, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(JPEG)
    os.unlink(os.path.join(files, "thumb/%s.jpg" % g["id"]))
    os.unlink(os.path.join(files, "original/" + h["id"]))
    for root, _, names in os.walk(files):
        for name in names:
            age(os.path.join(root, name))
    age_records(g["id"], h["id"])
    # Records and objects younger than the grace period are left alone.
    young = os.path.join(files, "original/" + "b" * 24)
    with open(young, "wb") as f:
        f.write(JPEG)
    young_group = stack.post("/image_groups", {"name": "gc young", "images": ["y.jpg"]}).json
    young_image = young_group["images"][0]
    expect(put_file(young_image, JPEG)[0] == 200)
    expect_status(stack.post("/images/%s/complete" % young_image["id"]), 200)
    os.unlink(os.path.join(files, "original/" + young_image["id"]))
    before = storage.keys()
    code, out = gc("--dry-run", "--grace", "600")
    expect(code == 0, out)
    expect("(dry run)" in out and "would remove original/" + orphan_id in out, out)
    expect(storage.keys() == before, "dry run changed files")
    expect_status(stack.get("/images/" + h["id"]), 200)
    code, out = gc("--grace", "600")
    expect(code == 0, out)
    keys = storage.keys()
    expect("original/" + orphan_id not in keys and "thumb/%s.jpg" % orphan_id not in keys, out)
    expect("staging/%s/thumb.jpg" % g["id"] not in keys, out)
    expect("original/" + "b" * 24 in keys, "a young object was removed")
    expect("thumb/%s.jpg" % g["id"] in keys, "thumb not made again: " + out)
    expect(flows.fetch(stack, "/images/%s/thumb" % g["id"])[:2] == b"\xff\xd8")
    expect_error(stack.get("/images/" + h["id"]), 404)
    # A young record with a missing file is not dropped yet.
    expect_status(stack.get("/images/" + young_image["id"]), 200)
    expect("; 0 failures" in out, out)
    # A second sweep finds nothing more to do.
    os.unlink(young)
    stack.delete("/images/" + young_image["id"])
    code, out = gc("--grace", "600")
    expect(code == 0 and "0 orphan, 0 stale" in out and "0 repaired, 0 dropped" in out, out)


def test_stop():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_group_create_upload_complete, test_add_to_group_and_replace,
          test_refusals, test_group_delete, test_upload_url_is_this_api, test_token_checks,
          test_upload_over_body_limit, test_expired_upload_refused_and_dropped,
          test_gc_finds_and_repairs, test_workers_expire_uploads_themselves,
          test_completions_and_expiry_race_safely, test_old_upload_url_cannot_be_replayed,
          test_put_completes_and_a_new_url_replaces_the_file,
          test_failed_replacement_request_changes_nothing,
          test_gc_refuses_a_store_that_matches_nothing, test_stop])
