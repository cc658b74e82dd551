"""direct_uploads.py: the presigned-upload flow, written once for every
blob backend: the tests take a running Stack and a Storage that says how
to reach the backend's objects. test_direct_uploads.py runs them on the
local store, test_s3.py against an S3-compatible server.
"""
import hashlib
import http.client
import os
import urllib.parse

from harness import expect, expect_error, expect_status
from images import exif_block, make_image, with_exif

JPEG = make_image(640, 480, "jpg")
GPS_JPEG = with_exif(JPEG, exif_block(make="Nikon", model="D750", orientation=1,
                                      original="2025:08:09 21:30:00", offset="-03:30",
                                      lat=47.5615, lon=-52.7126, alt=10.0))
PNG = make_image(320, 200, "png")


class LocalStorage:
    """The local blob store: files under <data_dir>/files."""

    def __init__(self, stack):
        self.root = os.path.join(stack.data_dir, "files")

    def keys(self):
        found = []
        for root, _, names in os.walk(self.root):
            for name in names:
                found.append(os.path.relpath(os.path.join(root, name), self.root))
        return sorted(found)


def http_request(url, method="GET", body=None, headers=None):
    """(status, headers, body) of one request to an absolute URL."""
    parts = urllib.parse.urlsplit(url)
    expect(parts.hostname == "127.0.0.1", "URL leaves loopback: " + url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def put_file(item, data, ctype=None):
    """PUTs data to an upload item's URL as the web client does."""
    status, _, body = http_request(item["presigned_url"], "PUT", data,
                                   {"Content-Type": ctype or item["type"]})
    return status, body


def fetch(stack, path):
    """The bytes a client ends up with for a file URL of the API,
    following a redirect to storage."""
    resp = stack.get(path)
    if resp.status == 302:
        status, _, body = http_request(resp.header("location"))
        expect(status == 200, "redirect target answered %d" % status)
        return body
    expect_status(resp, 200)
    return resp.body


def check_items(items, names):
    expect([i["filename"] for i in items] == names, repr(items))
    for item in items:
        expect(set(item) == {"id", "filename", "presigned_url", "type"}, repr(item))
        expect(len(item["id"]) == 24, repr(item))
        expect(item["presigned_url"].startswith("http://127.0.0.1:"), repr(item))
        ext = item["filename"].rsplit(".", 1)[1].lower()
        expect(item["type"] == {"jpg": "image/jpeg", "jpeg": "image/jpeg",
                                "png": "image/png"}[ext], repr(item))


def flow_group_create_upload_complete(stack, storage):
    resp = stack.post("/image_groups", {"group": {
        "name": "Encore", "description": "last night", "images": ["a.jpg", "b.png"]}})
    expect_status(resp, 201)
    out = resp.json
    expect(set(out) == {"images", "group_id", "name"}, repr(out))
    expect(out["name"] == "Encore")
    check_items(out["images"], ["a.jpg", "b.png"])
    group = stack.get("/image_groups/" + out["group_id"]).json
    expect(group["description"] == "last night", repr(group))
    pending = {i["id"]: i for i in group["images"]}
    expect(len(pending) == 2, repr(group))
    for image in pending.values():
        expect(image["status"] == "pending" and image["width"] is None and
               image["size"] is None and image["sha256"] is None, repr(image))
        expect(image["upload_expires_at"], repr(image))
    a, b = out["images"]
    expect_error(stack.post("/images/%s/complete" % a["id"]), 409, "not been uploaded")
    expect_error(stack.get("/images/%s/thumb" % a["id"]), 404, "not been uploaded")
    status, _ = put_file(a, GPS_JPEG)
    expect(status == 200, "PUT answered %d" % status)
    done = stack.post("/images/%s/complete" % a["id"])
    expect_status(done, 200)
    image = done.json
    expect(image["status"] == "ready" and "upload_expires_at" not in image, repr(image))
    expect((image["width"], image["height"]) == (640, 480), repr(image))
    expect(image["sha256"] == hashlib.sha256(GPS_JPEG).hexdigest())
    expect(image["taken_at"] == "2025-08-09T21:30:00-03:30", repr(image))
    expect(image["group"] == out["group_id"] and image["filename"] == "a.jpg")
    expect(fetch(stack, image["urls"]["file"]) == GPS_JPEG, "original differs")
    expect(fetch(stack, image["urls"]["thumb"])[:2] == b"\xff\xd8", "thumb not JPEG")
    # Completing again answers the ready image; the received copy is gone.
    expect(stack.post("/images/%s/complete" % a["id"]).json == image)
    expect(not any(k.startswith("incoming/" + a["id"]) for k in storage.keys()),
           repr(storage.keys()))
    # The second file completes by itself on its first read.
    status, _ = put_file(b, PNG)
    expect(status == 200, "PUT answered %d" % status)
    read = stack.get("/images/" + b["id"]).json
    expect(read["status"] == "ready" and read["content_type"] == "image/png" and
           (read["width"], read["height"]) == (320, 200), repr(read))
    return out["group_id"]


def flow_add_to_group_and_replace(stack, storage):
    group = stack.post("/image_groups", {"name": "Soundcheck"}).json
    resp = stack.post("/images/" + group["id"], {"images": ["c.jpeg"]})
    expect_status(resp, 201)
    out = resp.json
    expect(set(out) == {"added_images", "group_id", "name"}, repr(out))
    expect(out["group_id"] == group["id"] and out["name"] == "Soundcheck")
    check_items(out["added_images"], ["c.jpeg"])
    item = out["added_images"][0]
    expect(put_file(item, JPEG)[0] == 200)
    first = stack.post("/images/%s/complete" % item["id"]).json
    expect(first["status"] == "ready", repr(first))
    # A new file for the same image: the old one stays until completion.
    resp = stack.patch("/images/%s/file" % item["id"], {"image": "new.png"})
    expect_status(resp, 200)
    again = resp.json
    check_items([again], ["new.png"])
    expect(again["id"] == item["id"])
    waiting = stack.get("/images/" + item["id"]).json
    expect(waiting["status"] == "pending" and waiting["sha256"] == first["sha256"],
           repr(waiting))
    expect(fetch(stack, first["urls"]["file"]) == JPEG, "old file not served")
    expect(put_file(again, PNG)[0] == 200)
    done = stack.post("/images/%s/complete" % item["id"]).json
    expect(done["status"] == "ready" and done["filename"] == "new.png" and
           done["sha256"] == hashlib.sha256(PNG).hexdigest(), repr(done))
    expect(done["created_at"] == first["created_at"] and done["group"] == group["id"])
    expect(fetch(stack, done["urls"]["file"]) == PNG, "new file not served")
    # Delete removes the record and every object of the image.
    expect_status(stack.delete("/images/" + item["id"]), 200)
    expect(not any(item["id"] in k for k in storage.keys()), repr(storage.keys()))


def flow_refusals(stack, storage):
    group = stack.post("/image_groups", {"name": "Refusals"}).json
    gid = group["id"]
    expect_error(stack.post("/images/" + gid, {"images": []}), 422, "empty")
    expect_error(stack.post("/images/" + gid, {"images": [3]}), 422, "file name")
    expect_error(stack.post("/images/" + gid, {"images": "a.jpg"}), 422, "list")
    expect_error(stack.post("/images/" + gid, {"images": ["a.gif"]}), 415, "a.gif")
    expect_error(stack.post("/images/" + gid, {"images": ["a.jpg"], "x": 1}), 422)
    expect_error(stack.post("/images/" + gid, {"pictures": ["a.jpg"]}), 422)
    expect_error(stack.post("/images/" + "0" * 24, {"images": ["a.jpg"]}), 404)
    expect_error(stack.post("/image_groups", {"group": {"images": ["x.bmp"]}}), 415)
    expect_error(stack.patch("/images/%s/file" % ("0" * 24), {"image": "a.jpg"}), 404)
    expect(stack.get("/images?group=" + gid).json == [], "refusals stored images")
    # A file that is not an image is refused at completion and removed;
    # the image keeps waiting, so the client may upload again. The local
    # store completes in the PUT itself (and answers its refusal); S3
    # accepts anything and the completion refuses.
    item = stack.post("/images/" + gid, {"images": ["d.jpg"]}).json["added_images"][0]
    local = "/uploads/" in item["presigned_url"]

    def refused(data, status):
        code, body = put_file(item, data)
        if local:
            expect(code == status and b"d.jpg" in body, "PUT: %d %r" % (code, body[:200]))
        else:
            expect(code == 200, "PUT: %d" % code)
            expect_error(stack.post("/images/%s/complete" % item["id"]), status, "d.jpg")
        expect(not any(k.startswith("incoming/") and item["id"] in k
                       for k in storage.keys()), repr(storage.keys()))
        expect(stack.get("/images/" + item["id"]).json["status"] == "pending")

    refused(b"this is no photo", 415)
    refused(JPEG[:len(JPEG) // 2], 422)
    code, body = put_file(item, JPEG)
    expect(code == 200, "PUT: %d" % code)
    expect_status(stack.post("/images/%s/complete" % item["id"]), 200)
    return gid


def flow_group_delete(stack, storage):
    out = stack.post("/image_groups", {"name": "Gone", "images": ["e.jpg", "f.jpg"]}).json
    e, f = out["images"]
    expect(put_file(e, JPEG)[0] == 200)
    expect_status(stack.post("/images/%s/complete" % e["id"]), 200)
    expect(put_file(f, JPEG)[0] == 200)  # received, never completed
    resp = stack.delete("/image_groups/" + out["group_id"])
    expect_status(resp, 200)
    left = [k for k in storage.keys() if e["id"] in k or f["id"] in k]
    expect(left == [], "objects left after group delete: %r" % left)
