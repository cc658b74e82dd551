"""test_images.py: the image API through a real nginx and the pool.

Uploads in every form the API takes, metadata read from EXIF blocks the
test wrote itself, the gallery sizes, files served through nginx
(X-Accel-Redirect, ETag, Range) and by the worker in CGI mode, updates,
deletes, list filters, and refusals that leave nothing behind.
"""
import hashlib
import json
import os
import subprocess
import threading
import time

from harness import BIN, Stack, expect, expect_error, expect_status, main
from images import (exif_block, jpeg_size, make_image, multipart, padded_jpeg,
                    png_bomb, png_zero_bomb, with_declared_size, with_exif)

stack = None
JPEG = None  # a plain 640x480 JPEG
GPS_JPEG = None  # the same with a full EXIF block


def stored_files():
    """Every file under the data dir's files/ and tmp/ folders."""
    found = []
    for sub in ("files", "tmp"):
        for root, _, names in os.walk(os.path.join(stack.data_dir, sub)):
            found += [os.path.join(root, n) for n in names]
    return sorted(found)


def upload_one(data, filename="photo.jpg", ctype="image/jpeg", fields=()):
    content_type, body = multipart(fields, [("image", filename, data, ctype)])
    return stack.post("/images", body, headers={"Content-Type": content_type})


def test_start():
    global stack, JPEG, GPS_JPEG
    stack = Stack(name="images", config={"max_files": 5}).start()
    JPEG = make_image(640, 480, "jpg")
    GPS_JPEG = with_exif(JPEG, exif_block(
        make="Canon", model="EOS 5D", orientation=1, original="2024:05:01 20:15:03",
        offset="+02:00", lat=-33.8688, lon=-151.2093 + 302.4186, alt=-12.5))


def test_upload_reads_exif_and_describes_file():
    resp = upload_one(GPS_JPEG, fields=[("description", "first song")])
    expect_status(resp, 201)
    img = resp.json
    expect(resp.header("location") == "/images/" + img["id"])
    expect(img["filename"] == "photo.jpg" and img["description"] == "first song")
    expect((img["width"], img["height"]) == (640, 480), repr(img))
    expect(img["content_type"] == "image/jpeg" and img["size"] == len(GPS_JPEG))
    expect(img["sha256"] == hashlib.sha256(GPS_JPEG).hexdigest())
    data = img["data"]
    expect(data["Make"] == "Canon" and data["Model"] == "EOS 5D", repr(data))
    expect(data["DateTimeOriginal"] == "2024-05-01T20:15:03", repr(data))
    expect(data["OffsetTimeOriginal"] == "+02:00" and data["Orientation"] == 1)
    coords = data["coords"]
    expect(abs(coords["latitude"] + 33.8688) < 1e-6, repr(coords))
    expect(abs(coords["longitude"] - 151.2093) < 1e-6, repr(coords))
    expect(abs(coords["altitude"] + 12.5) < 1e-6, repr(coords))
    expect(img["taken_at"] == "2024-05-01T20:15:03+02:00", img["taken_at"])
    expect(img["group"] is None)
    expect(img["urls"] == {k: "/images/%s/%s" % (img["id"], k)
                           for k in ("file", "fullsize", "thumb")})
    expect(stack.get("/images/" + img["id"]).json == img)


def test_files_served_by_nginx():
    img = upload_one(GPS_JPEG).json
    orig = stack.get(img["urls"]["file"])
    expect_status(orig, 200)
    expect(orig.body == GPS_JPEG, "original bytes differ")
    expect(orig.header("content-type") == "image/jpeg", orig.header("content-type"))
    # An original and its copy without GPS data cannot be told apart by
    # nginx's validators: originals have none and are never a 304.
    expect(orig.header("etag") is None, repr(orig.headers))
    expect(stack.get(img["urls"]["file"], headers={
        "If-Modified-Since": orig.header("last-modified") or ""}).status == 200)
    part = stack.get(img["urls"]["file"], headers={"Range": "bytes=2-11"})
    expect_status(part, 206)
    expect(part.body == GPS_JPEG[2:12], "range bytes differ")
    thumb = stack.get(img["urls"]["thumb"])
    expect_status(thumb, 200)
    expect(thumb.header("content-type") == "image/jpeg")
    expect(thumb.header("x-request-id"), "no X-Request-Id on a file")
    etag = thumb.header("etag")
    expect(etag, "no ETag on a gallery size")
    expect(stack.get(img["urls"]["thumb"], headers={"If-None-Match": etag}).status == 304)
    expect(jpeg_size(thumb.body) == (300, 225), repr(jpeg_size(thumb.body)))
    full = stack.get(img["urls"]["fullsize"])
    expect(jpeg_size(full.body) == (640, 480), "fullsize must not upscale")
    for gallery in (thumb.body, full.body):
        expect(b"Exif\0\0" not in gallery, "EXIF (and GPS) left in a gallery size")
    expect(stack.request("HEAD", img["urls"]["thumb"]).status == 200)
    expect_error(stack.get(img["urls"]["file"], headers={"Range": "bytes=999999-"}), 416)


def test_gallery_sizes_are_upright_and_bounded():
    big = make_image(3000, 2000, "jpg")
    img = upload_one(big, "big.jpg").json
    expect(jpeg_size(stack.get(img["urls"]["fullsize"]).body) == (2880, 1920))
    expect(jpeg_size(stack.get(img["urls"]["thumb"]).body) == (300, 200))
    # Orientation 6: stored landscape, shown portrait.
    turned = with_exif(make_image(400, 200, "jpg"), exif_block(orientation=6))
    img = upload_one(turned, "turned.jpg").json
    expect((img["width"], img["height"]) == (400, 200), repr(img))
    expect(jpeg_size(stack.get(img["urls"]["thumb"]).body) == (150, 300))
    # 24 MP in PNG and WebP decode at full size: beyond ImageMagick's
    # memory limit they spill to its disk cache instead of failing.
    for ext, ctype in (("png", "image/png"), ("webp", "image/webp")):
        resp = stack.post("/images?filename=big." + ext, make_image(6000, 4000, ext),
                          headers={"Content-Type": ctype}, timeout=120)
        expect_status(resp, 201)
        expect(jpeg_size(stack.get(resp.json["urls"]["fullsize"]).body) == (2880, 1920))


def test_other_formats_and_raw_body():
    for ext, ctype in (("png", "image/png"), ("webp", "image/webp"),
                       ("tif", "image/tiff")):
        data = make_image(120, 80, ext)
        resp = stack.post("/images?filename=band." + ext, data,
                          headers={"Content-Type": ctype})
        expect_status(resp, 201)
        img = resp.json
        expect(img["content_type"] == ctype and img["filename"] == "band." + ext,
               repr(img))
        expect((img["width"], img["height"]) == (120, 80))
        expect(stack.get(img["urls"]["file"]).body == data)
        expect(jpeg_size(stack.get(img["urls"]["thumb"]).body) == (120, 80))


def written_by_workers():
    """Bytes the pool's workers have passed to write() so far."""
    total = 0
    for pid in stack.worker_pids():
        with open("/proc/%d/io" % pid) as io:
            total += sum(int(line.split()[1]) for line in io if line.startswith("wchar:"))
    return total


def test_upload_bytes_written_at_most_twice():
    """nginx writes the body once; the workers write a multipart upload's
    file once (taking it out of the body) and link it into the store, and
    link a raw body (same file system) without writing it at all."""
    photo = padded_jpeg(4 * 1024 * 1024, JPEG)
    before = written_by_workers()
    resp = upload_one(photo, "big.jpg")
    expect_status(resp, 201)
    multipart_bytes = written_by_workers() - before
    expect(multipart_bytes < 1.25 * len(photo),
           "a multipart upload of %d bytes made the workers write %d"
           % (len(photo), multipart_bytes))
    before = written_by_workers()
    raw = stack.post("/images?filename=raw.jpg", photo, headers={"Content-Type": "image/jpeg"})
    expect_status(raw, 201)
    raw_bytes = written_by_workers() - before
    expect(raw_bytes < 0.25 * len(photo),
           "a raw upload of %d bytes made the workers write %d" % (len(photo), raw_bytes))
    for image in (resp.json, raw.json):
        expect(stack.get(image["urls"]["file"]).body == photo, "stored bytes differ")
    print("# %d-byte photo: workers wrote %d bytes (multipart), %d (raw body)"
          % (len(photo), multipart_bytes, raw_bytes))


def test_filename_is_sanitized():
    img = upload_one(JPEG, filename="../../etc/passwd.jpg").json
    expect(img["filename"] == "passwd.jpg", repr(img["filename"]))
    # C1 controls (U+0085 here) are replaced; ASCII controls in a
    # header are refused by the multipart parser itself.
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"image\"; "
            b"filename=\"pa\xc2\x85ss.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" +
            JPEG + b"\r\n--xyz--\r\n")
    resp = stack.post("/images", body,
                      headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    expect_status(resp, 201)
    expect(resp.json["filename"] == "pa_ss.jpg", repr(resp.json["filename"]))
    bad = body.replace(b"filename=\"pa\xc2\x85ss.jpg\"", b"filename*=UTF-8''pa%01ss.jpg")
    expect_error(stack.post("/images", bad, headers={
        "Content-Type": "multipart/form-data; boundary=xyz"}), 400, "control character")
    img = upload_one(JPEG, filename="C:\\\\Users\\\\me\\\\Bühne.jpg").json
    expect(img["filename"] == "Bühne.jpg", repr(img["filename"]))


def test_group_with_images_all_or_nothing():
    early = with_exif(JPEG, exif_block(original="2024:05:01 20:00:00"))
    late = with_exif(JPEG, exif_block(original="2024:05:01 21:00:00"))
    ctype, body = multipart([("name", "Roxy"), ("description", "night one")],
                            [("images", "late.jpg", late, "image/jpeg"),
                             ("images", "early.jpg", early, "image/jpeg")])
    resp = stack.post("/image_groups", body, headers={"Content-Type": ctype})
    expect_status(resp, 201)
    g = resp.json
    expect(g["name"] == "Roxy" and g["group_id"] == g["id"] and len(g["images"]) == 2)
    got = stack.get("/image_groups/" + g["id"]).json
    expect([i["filename"] for i in got["images"]] == ["early.jpg", "late.jpg"],
           "group images must be oldest capture first")
    expect(all(i["group"] == g["id"] for i in got["images"]))

    before_files = stored_files()
    total = stack.get("/images?limit=1").header("x-total-count")
    ctype, body = multipart([("name", "Broken")],
                            [("images", "ok.jpg", JPEG, "image/jpeg"),
                             ("images", "bad.jpg", JPEG[: len(JPEG) // 2], "image/jpeg")])
    expect_error(stack.post("/image_groups", body, headers={"Content-Type": ctype}),
                 422, "bad.jpg")
    expect(stored_files() == before_files, "a failed batch left files")
    expect(stack.get("/images?limit=1").header("x-total-count") == total)
    names = [x["name"] for x in stack.get("/image_groups?limit=500").json]
    expect("Broken" not in names, "a failed batch left its group")


def test_add_images_to_group():
    g = stack.post("/image_groups", {"name": "Adds"}).json
    ctype, body = multipart([], [("images", "a.jpg", JPEG, "image/jpeg"),
                                 ("images", "b.png", make_image(50, 50, "png"),
                                  "image/png")])
    resp = stack.post("/images/" + g["id"], body, headers={"Content-Type": ctype})
    expect_status(resp, 201)
    out = resp.json
    expect(out["group_id"] == g["id"] and out["name"] == "Adds", repr(out))
    expect([i["filename"] for i in out["added_images"]] == ["a.jpg", "b.png"])
    expect(len(stack.get("/image_groups/" + g["id"]).json["images"]) == 2)
    expect_error(stack.post("/images/" + "0" * 24, body,
                            headers={"Content-Type": ctype}), 404,
                 "Group with that ID not found")
    expect_error(stack.post("/images/xyz", body, headers={"Content-Type": ctype}), 422)


def test_refusals_leave_nothing_behind():
    before = stored_files()
    expect_error(upload_one(make_image(40, 40, "gif"), "anim.gif", "image/gif"), 415)
    expect_error(upload_one(b"%PDF-1.4 not an image", "doc.jpg"), 415)
    expect_error(upload_one(JPEG[: len(JPEG) // 2], "cut.jpg"), 422, "cut.jpg")
    started = time.monotonic()
    expect_error(upload_one(png_bomb(), "bomb.png", "image/png"), 413)
    expect(time.monotonic() - started < 3, "the bomb was decoded")
    files = [("images", "f%d.jpg" % i, JPEG, "image/jpeg") for i in range(6)]
    g = stack.post("/image_groups", {"name": "Many"}).json
    ctype, body = multipart([], files)
    expect_error(stack.post("/images/" + g["id"], body,
                            headers={"Content-Type": ctype}), 413, "Too many files")
    expect_error(stack.post("/images", JPEG, headers={"Content-Type": "text/plain"}), 415)
    ctype, body = multipart([("colour", "red")], [("image", "x.jpg", JPEG, "image/jpeg")])
    expect_error(stack.post("/images", body, headers={"Content-Type": ctype}), 422)
    expect_error(upload_one(JPEG, fields=[("group", "0" * 24)]), 404)
    expect_error(upload_one(JPEG, fields=[("group", "nope")]), 422)
    truncated = multipart([], [("image", "x.jpg", JPEG, "image/jpeg")])[1][:-30]
    expect_error(stack.post("/images", truncated, headers={
        "Content-Type": multipart()[0].split("boundary=")[0] + "boundary=x"}), 400)
    expect(stored_files() == before, "a refused upload left files")


def test_a_jpeg_smaller_than_it_claims_is_422():
    """A JPEG whose header claims 16000x6000 but whose data holds 640x480
    (issue 14): 422 like a truncated file, nothing stored; the same for a
    claim just one row of blocks past the data."""
    before = stored_files()
    for width, height in ((16000, 6000), (640, 496)):
        lying = with_declared_size(JPEG, width, height)
        expect(jpeg_size(lying) == (width, height))
        expect_error(upload_one(lying), 422, "truncated")
        ctype, body = multipart([], [("image", "x.jpg", lying, "image/jpeg")])
        expect_error(stack.patch("/images/" + upload_one(JPEG).json["id"] + "/file", body,
                                 headers={"Content-Type": ctype}), 422, "truncated")
    expect(len(stored_files()) == len(before) + 2 * 3, "refused uploads left files")


def test_decompression_bombs_are_refused_from_their_header():
    """PNGs of 9000x9000 pixels (81 MP, under max_pixels) in a few hundred
    KB: decoded they would take 648 MB, over max_decode_bytes (384M), so
    they are refused from the header (issue 14), four at once, while
    reads go on; nothing is stored."""
    bomb = png_zero_bomb(9000, 9000)
    expect(len(bomb) < 1024 * 1024, "the bomb is %d bytes" % len(bomb))
    before = stored_files()
    answers = []
    bombers = [threading.Thread(target=lambda: answers.append(
        upload_one(bomb, "bomb.png", "image/png"))) for _ in range(4)]
    for t in bombers:
        t.start()
    reads = 0
    while any(t.is_alive() for t in bombers):
        expect_status(stack.get("/healthz", timeout=60), 200)
        reads += 1
    for t in bombers:
        t.join()
    for resp in answers:
        expect_error(resp, 413, "max_decode_bytes")
    expect(len(answers) == 4 and reads > 0)
    expect(stored_files() == before, "a refused bomb left files")


def test_patch_image_metadata_and_move():
    g = stack.post("/image_groups", {"name": "Dest"}).json
    img = upload_one(JPEG).json
    resp = stack.patch("/images/" + img["id"],
                       {"data": {"description": "moved", "group": g["id"]}})
    expect_status(resp, 200)
    expect(resp.json["description"] == "moved" and resp.json["group"] == g["id"])
    expect(resp.json["updated_at"] >= img["updated_at"])
    expect_error(stack.patch("/images/" + img["id"], {"group": "0" * 24}), 404)
    expect(stack.get("/images/" + img["id"]).json["group"] == g["id"])
    resp = stack.patch("/images/" + img["id"], {"group": None, "description": None})
    expect(resp.json["group"] is None and resp.json["description"] is None)
    expect_error(stack.patch("/images/" + img["id"], {"size": 1}), 422)
    expect_error(stack.patch("/images/" + "0" * 24, {"description": "x"}), 404,
                 "Image with that ID not found")


def test_replace_file():
    img = upload_one(GPS_JPEG, "first.jpg", fields=[("description", "stays")]).json
    new = make_image(200, 100, "png")
    ctype, body = multipart([], [("image", "second.png", new, "image/png")])
    resp = stack.patch("/images/%s/file" % img["id"], body,
                       headers={"Content-Type": ctype})
    expect_status(resp, 200)
    out = resp.json
    expect(out["id"] == img["id"] and out["filename"] == "second.png", repr(out))
    expect(out["description"] == "stays" and out["content_type"] == "image/png")
    expect(out["data"] == {} and out["taken_at"] is None, repr(out["data"]))
    expect(stack.get(out["urls"]["file"]).body == new, "file not replaced")
    expect(jpeg_size(stack.get(out["urls"]["thumb"]).body) == (200, 100))
    expect_error(stack.patch("/images/%s/file" % img["id"], b"junk",
                             headers={"Content-Type": "image/png"}), 415)
    expect(stack.get(out["urls"]["file"]).body == new, "a refused replace changed the file")


def test_failed_replace_changes_nothing():
    import sqlite3
    img = upload_one(GPS_JPEG, "keep.jpg").json
    before = stored_files()
    ctype, body = multipart([], [("image", "new.png", make_image(64, 64, "png"),
                                  "image/png")])
    # Hold the database's write lock: the record cannot change.
    db = sqlite3.connect(os.path.join(stack.data_dir, "bandpics.db"), timeout=10,
                         isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        expect_error(stack.patch("/images/%s/file" % img["id"], body,
                                 headers={"Content-Type": ctype}), 503)
    finally:
        db.execute("ROLLBACK")
        db.close()
    expect(stack.get("/images/" + img["id"]).json == img, "the record changed")
    expect(stack.get(img["urls"]["file"]).body == GPS_JPEG, "the file changed")
    expect(stored_files() == before, "a failed replace left files")


def test_delete_image_and_group_remove_files():
    img = upload_one(JPEG, "gone.jpg").json
    with_files = len(stored_files())
    resp = stack.delete("/images/" + img["id"])
    expect_status(resp, 200)
    expect(resp.json["id"] == img["id"] and resp.json["filename"] == "gone.jpg")
    expect(len(stored_files()) == with_files - 3, "files of a deleted image remain")
    expect_error(stack.get("/images/" + img["id"]), 404)
    expect_error(stack.get(img["urls"]["thumb"]), 404)

    ctype, body = multipart([("name", "Doomed")],
                            [("images", "x.jpg", JPEG, "image/jpeg"),
                             ("images", "y.jpg", JPEG, "image/jpeg")])
    g = stack.post("/image_groups", body, headers={"Content-Type": ctype}).json
    with_files = len(stored_files())
    resp = stack.delete("/image_groups/" + g["id"])
    expect_status(resp, 200)
    expect(resp.json["num_images"] == 2, repr(resp.json))
    expect(sorted(resp.json["removed"]) == ["x.jpg", "y.jpg"], repr(resp.json))
    expect(len(stored_files()) == with_files - 6)
    for i in g["images"]:
        expect_error(stack.get("/images/" + i["id"]), 404)


def test_list_filters_and_paging():
    g = stack.post("/image_groups", {"name": "Places"}).json
    shots = [("berlin", 52.52, 13.405, "2023:06:01 20:00:00"),
             ("potsdam", 52.39, 13.065, "2023:06:02 20:00:00"),
             ("sydney", -33.8688, 151.2093, "2023:06:03 20:00:00")]
    for name, lat, lon, when in shots:
        data = with_exif(JPEG, exif_block(original=when, lat=lat, lon=lon))
        expect_status(upload_one(data, name + ".jpg", fields=[("group", g["id"])]), 201)
    base = "/images?group=" + g["id"]
    names = lambda r: [i["filename"] for i in r.json]
    expect(names(stack.get(base)) == ["berlin.jpg", "potsdam.jpg", "sydney.jpg"])
    expect(names(stack.get(base + "&taken_after=2023-06-02&taken_before=2023-06-03T12:00:00Z"))
           == ["potsdam.jpg"])
    expect(names(stack.get(base + "&bbox=13,52,14,53")) == ["berlin.jpg", "potsdam.jpg"])
    expect(names(stack.get(base + "&near=52.52,13.405&radius=5000")) == ["berlin.jpg"])
    page = stack.get(base + "&limit=2")
    expect(page.header("x-total-count") == "3")
    link = page.header("link")
    expect(link == '</images?limit=2&offset=2&group=%s>; rel="next"' % g["id"], link)
    for bad in ("group=x", "taken_after=yesterday", "bbox=1,2,3", "bbox=0,50,1,40",
                "near=91,0&radius=10", "near=1,2", "near=1,2&radius=-5", "limit=0"):
        expect_error(stack.get("/images?" + bad), 422)


def test_metadata_of_known_exif():
    cases = [
        # (exif values, expected coords or None, expected taken_at)
        (dict(lat=48.8584, lon=2.2945, original="2024:07:14 22:00:00", offset="+05:45"),
         (48.8584, 2.2945), "2024-07-14T22:00:00+05:45"),
        (dict(lat=-22.9519, lon=-43.2105, original="2024:02:10 18:30:00", offset="-03:30"),
         (-22.9519, -43.2105), "2024-02-10T18:30:00-03:30"),
        (dict(lat=64.1466, lon=-21.9426, alt=-3.25, original="2024:01:01 00:10:00"),
         (64.1466, -21.9426), "2024-01-01T00:10:00"),
        (dict(lat=-41.2865, lon=174.7762, alt=19.0, original="2024:03:03 21:00:00",
              gps_utc="2024:03:03 08:00:00"),
         (-41.2865, 174.7762), "2024-03-03T21:00:00+13:00"),
        (dict(null_fix=True, original="2024:05:05 12:00:00"), None, "2024-05-05T12:00:00"),
    ]
    for values, coords, taken in cases:
        img = upload_one(with_exif(JPEG, exif_block(**values))).json
        got = img["data"].get("coords")
        if coords is None:
            expect(got is None, "a 0/0 fix must give no position: %r" % got)
        else:
            expect(abs(got["latitude"] - coords[0]) < 1e-6 and
                   abs(got["longitude"] - coords[1]) < 1e-6, repr(got))
            if "alt" in values:
                expect(abs(got["altitude"] - values["alt"]) < 1e-6, repr(got))
        expect(img["taken_at"] == taken, "%r != %r" % (img["taken_at"], taken))
    # Orientation 8: stored landscape, shown portrait the other way round.
    img = upload_one(with_exif(make_image(400, 200, "jpg"), exif_block(orientation=8))).json
    expect(img["data"]["Orientation"] == 8)
    expect(jpeg_size(stack.get(img["urls"]["thumb"]).body) == (150, 300))


def test_bad_inputs_are_4xx_and_leave_nothing():
    before = stored_files()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    for data, name in ((b"", "empty.jpg"), (b"just some text\n", "notes.jpg"),
                       (svg, "vector.svg")):
        expect_error(upload_one(data, name), 415)
    ctype, body = multipart([], [("image", "x.jpg", JPEG, "image/jpeg")])
    wrong = ctype.split("boundary=")[0] + "boundary=notthisone"
    expect_error(stack.post("/images", body, headers={"Content-Type": wrong}), 400)
    expect_error(stack.post("/images", body, headers={
        "Content-Type": "multipart/form-data"}), 400, "boundary")
    ctype, body = multipart([("description", "no file")], [])
    expect_error(stack.post("/images", body, headers={"Content-Type": ctype}), 422,
                 "exactly one file")
    expect_error(stack.post("/images", b"", headers={"Content-Type": "image/jpeg"}), 415)
    expect(stored_files() == before, "a bad input left files")


def test_cgi_mode_streams_files():
    img = upload_one(GPS_JPEG, "cgi.jpg").json
    env = stack.env({"REQUEST_METHOD": "GET", "PATH_INFO": "/images/%s/file" % img["id"],
                     "GATEWAY_INTERFACE": "CGI/1.1", "BANDPICS_DATA_DIR": stack.data_dir,
                     "BANDPICS_AUTH_MODE": "off",
                     "HTTP_RANGE": "bytes=0-99"})
    out = subprocess.run([BIN], env=env, capture_output=True, timeout=30)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    expect(head.startswith(b"Status: 206"), repr(head[:200]) + repr(out.stderr[-500:]))
    expect(body == GPS_JPEG[:100], "CGI range bytes differ")
    env["HTTP_RANGE"] = "bytes=999999-"
    out = subprocess.run([BIN], env=env, capture_output=True, timeout=30)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    expect(head.startswith(b"Status: 416") and b"Content-Range: bytes */" in head, repr(head))
    expect(json.loads(body)["detail"], repr(body))
    env.pop("HTTP_RANGE")
    out = subprocess.run([BIN], env=env, capture_output=True, timeout=30)
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    expect(head.startswith(b"Status: 200") and body == GPS_JPEG, repr(head[:200]))
    expect(b"X-Accel-Redirect" not in head)


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_upload_reads_exif_and_describes_file, test_files_served_by_nginx,
          test_gallery_sizes_are_upright_and_bounded, test_other_formats_and_raw_body,
          test_upload_bytes_written_at_most_twice, test_filename_is_sanitized, test_group_with_images_all_or_nothing,
          test_add_images_to_group, test_refusals_leave_nothing_behind,
          test_patch_image_metadata_and_move, test_replace_file,
          test_failed_replace_changes_nothing,
          test_delete_image_and_group_remove_files, test_list_filters_and_paging,
          test_metadata_of_known_exif, test_bad_inputs_are_4xx_and_leave_nothing,
          test_a_jpeg_smaller_than_it_claims_is_422,
          test_decompression_bombs_are_refused_from_their_header,
          test_cgi_mode_streams_files, test_stop_cleanly])
