"""test_mongo_wire.py: the MongoDB backend on the wire, against a scripted peer.

The real pool (one worker, so the commands come in a fixed order) behind
nginx is pointed at a MongoPeer (Debian's python3-mockupdb, see
mongo_peer.py). Each test drives an HTTP route, asserts every command
the driver sends (collection, filter, update, sort, skip/limit, index
specs, document shape, an image's status and awaited upload) and feeds
back the replies, including a
duplicate-key error, a not-primary error, dropped connections, a stalled
server and an outage; then it checks what the service answered and that
it answered in time. Last, a pool started against a port where nothing
listens answers 503 and recovers after its configuration is rewritten to
point at the peer and SIGHUP is sent.
"""
import datetime
import hashlib
import math
import signal
import time
import urllib.parse

from mongo_peer import ensure_mockupdb

ensure_mockupdb()  # may re-execute under /usr/bin/python3: before any output

from bson import ObjectId  # noqa: E402  (mockupdb's bson, importable now)

from harness import (Stack, expect, expect_error, expect_status, main,  # noqa: E402
                     wait_until)
from images import exif_block, make_image, multipart, with_exif  # noqa: E402
from mongo_peer import (ABSENT, ANY, DUPLICATE_KEY, NOT_PRIMARY, MongoPeer,  # noqa: E402
                        background, cursor_reply, duplicate_key_reply,
                        find_and_modify_reply)

DB = "bandpics"
EARTH_RADIUS_M = 6371008.8          # BP_MONGO_EARTH_RADIUS_M
SELECTION_S = 2.0                   # mongo_timeout_ms (the default)
MARGIN_S = 3.0                      # "within the selection timeout + a margin"
GROUP_SORT = {"created_at": -1, "_id": -1}
IMAGE_SORT = {"has_taken_at": -1, "taken_at_ms": 1, "created_at": 1, "_id": 1}
COUNT_GROUP = {"$group": {"_id": 1, "n": {"$sum": 1}}}
GROUP_INDEXES = [
    ("created", [("created_at", -1), ("_id", -1)]),
    ("event_created", [("event", 1), ("created_at", -1), ("_id", -1)]),
    ("hidden_location", [("location", 1), ("owner", 1)], {"sparse": True}),
]
IMAGE_INDEXES = [
    ("group_order", [("group", 1), ("has_taken_at", -1), ("taken_at_ms", 1),
                     ("created_at", 1), ("_id", 1)]),
    ("order", [("has_taken_at", -1), ("taken_at_ms", 1), ("created_at", 1), ("_id", 1)]),
    ("taken_at_ms", [("taken_at_ms", 1)]),
    ("location_2dsphere", [("location", "2dsphere")]),
    # Only pending images have upload: the expired-upload filter's index.
    ("upload_expires_at", [("upload.expires_at", 1)], {"sparse": True}),
    ("group_filename", [("group", 1), ("filename", 1)]),
]

peer = None
stack = None
down_stack = None   # the pool started against a closed port
JPEG = None
GPS_JPEG = None
T0 = datetime.datetime(2024, 5, 1, 18, 15, 3, 120000)  # a fixed BSON date (ms)


# -- helpers

def note(text):
    print("# " + text, flush=True)


def iso(dt):
    """The API's time format for a naive-UTC datetime."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def approx(value, tolerance=1e-6):
    return lambda v: isinstance(v, float) and abs(v - value) <= tolerance


def recent(v):
    """A BSON date written by the service just now (naive UTC)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return isinstance(v, datetime.datetime) and abs((now - v).total_seconds()) < 60


def count_reply(n, collection):
    """The reply of countDocuments' aggregate ($group gives no batch for 0)."""
    return cursor_reply([{"_id": 1, "n": n}] if n else [], collection)


def count_command(match):
    """countDocuments as libmongoc 1.23 sends it."""
    return {"pipeline": [{"$match": match}, COUNT_GROUP], "cursor": {}}


def group_doc(oid=None, name="Roxy", description=None, event=None, created=T0):
    return {"_id": oid or ObjectId(), "name": name, "description": description,
            "event": event, "created_at": created, "updated_at": created}


def image_doc(oid=None, group=None, filename="a.jpg", taken=None, location=None,
              created=T0, description=None, data=None):
    """An image document as the backend stores it; taken is a naive-UTC datetime."""
    doc = {"_id": oid or ObjectId(), "group": group, "description": description,
           "filename": filename, "content_type": "image/jpeg", "size": 1234,
           "sha256": "ab" * 32, "width": 64, "height": 48,
           "taken_at": taken.strftime("%Y-%m-%dT%H:%M:%SZ") if taken else None,
           "taken_at_ms": taken, "has_taken_at": 1 if taken else 0,
           "data": data if data is not None else {}, "status": "ready",
           "created_at": created, "updated_at": created}
    if location is not None:
        doc["location"] = {"type": "Point", "coordinates": [location[1], location[0]]}
    return doc


def in_minutes(minutes):
    """A BSON date (naive UTC, whole ms) minutes from now."""
    t = (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) +
         datetime.timedelta(minutes=minutes))
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def pending_doc(oid=None, group=None, filename="soon.jpg", expires=None,
                content_type="image/jpeg"):
    """A pending image that never had a file, awaiting filename until expires
    (by default in 15 minutes: an expired one is the service's to end)."""
    doc = image_doc(oid, group, filename)
    doc.update(content_type=content_type, size=0, sha256="", width=0, height=0,
               status="pending",
               upload={"filename": filename, "expires_at": expires or in_minutes(15)})
    return doc


def started(fn, *args, **kw):
    """Starts an HTTP request in the background; returns (pending, start time)."""
    return background(fn, *args, **kw), time.monotonic()


def finish(pending, status=None, budget=None, since=None):
    """Waits for a background request; checks its status and, with budget,
    that it finished within budget seconds of since (default: now)."""
    mark = time.monotonic() if since is None else since
    resp = pending.result(timeout=30)
    elapsed = time.monotonic() - mark
    if budget is not None:
        expect(elapsed <= budget, "answered after %.2fs, budget %.2fs" % (elapsed, budget))
    if status is not None:
        expect_status(resp, status)
    return resp


def upload(data, fields=(), filename="photo.jpg"):
    content_type, body = multipart(fields, [("image", filename, data, "image/jpeg")])
    return stack.post("/images", body, headers={"Content-Type": content_type})


def expired_uploads_filter():
    """The filter of a sweep of uploads that expired before now."""
    return {"upload.expires_at": {"$lt": recent}}


def answer_upload_sweeps(p):
    """The worker sweeps expired uploads on its own schedule: answer those
    reads (none expired) in the background, so they never take the place
    of a scripted command. Only this exact shape is answered."""
    p.auto_answer("aggregate", "images", reply=count_reply(0, "images"),
                  **count_command(expired_uploads_filter()))
    p.auto_answer("find", "images", reply=cursor_reply([], "images"),
                  filter=expired_uploads_filter())
    # Before an upload into a group: is its file name taken there? (No.)
    p.auto_answer("find", "images", reply=cursor_reply([], "images"),
                  filter={"group": ANY, "filename": ANY})


def check_index_command(doc, collection, specs):
    """specs: (name, keys) or (name, keys, options such as sparse)."""
    expect(doc.get("createIndexes") == collection, "createIndexes on %r" % doc)
    expect(doc.get("$db") == DB, "createIndexes in %r" % doc.get("$db"))
    got = [(ix.get("name"), list(ix.get("key", {}).items()),
            {k: v for k, v in ix.items() if k not in ("key", "name")})
           for ix in doc["indexes"]]
    want = [(spec[0], spec[1], spec[2] if len(spec) > 2 else {}) for spec in specs]
    expect(got == want, "index specs of %s:\n got  %r\n want %r" % (collection, got, want))


# -- the service against the peer

def test_start():
    global peer, stack, JPEG, GPS_JPEG
    peer = MongoPeer().start()
    answer_upload_sweeps(peer)
    stack = Stack(config=peer.config(), workers=1, name="mongo-wire").start()
    JPEG = make_image(64, 48, "jpg")
    GPS_JPEG = with_exif(JPEG, exif_block(
        make="Canon", model="EOS 5D", orientation=1, original="2024:05:01 20:15:03",
        offset="+02:00", lat=-33.8688, lon=151.2093, alt=-12.5))


def test_startup_creates_indexes():
    # The master's preflight opens the store once, then the worker opens its own:
    # each runs createIndexes on image_groups, then on images.
    docs = peer.wait_seen("createIndexes", count=4)
    expect(len(docs) == 4, "%d createIndexes commands" % len(docs))
    for i, doc in enumerate(docs):
        if i % 2 == 0:
            check_index_command(doc, "image_groups", GROUP_INDEXES)
        else:
            check_index_command(doc, "images", IMAGE_INDEXES)
    # A client made per process: two connections, each with a handshake.
    expect(peer.handshakes >= 2, "%d handshakes" % peer.handshakes)
    peer.assert_quiet()


def test_healthz_pings():
    before = len(peer.seen("ping"))
    resp = stack.get("/healthz")
    expect_status(resp, 200)
    expect(resp.json == {"store_backend": "mongodb", "status": "ok",
                         "checks": {"store": "ok", "disk": "ok"}}, repr(resp.json))
    pings = peer.seen("ping")
    expect(len(pings) == before + 1, "%d pings" % (len(pings) - before))
    expect(pings[-1]["ping"] == 1 and pings[-1]["$db"] == "admin", repr(pings[-1]))


def test_healthz_failing_ping_is_503():
    peer.manual("ping")
    try:
        pending, t = started(stack.get, "/healthz")
        peer.expect("ping", 1, **{"$db": "admin"},
                    error={"code": 91, "codeName": "ShutdownInProgress",
                           "errmsg": "shutting down"})
        resp = finish(pending, budget=SELECTION_S + MARGIN_S, since=t)
        expect_error(resp, 503, "store: ")
        expect(resp.header("retry-after") == "1", repr(resp.headers))
    finally:
        peer.auto_reply("ping")
    expect_status(stack.get("/healthz"), 200)


def test_create_group_inserts_document():
    event = ObjectId()
    pending = background(stack.post, "/image_groups",
                         {"name": "Roxy", "description": "set 1", "event": str(event)})
    doc = peer.expect("insert", "image_groups", ordered=True,
                      documents=[{"_id": ObjectId, "name": "Roxy", "description": "set 1",
                                  "event": event, "created_at": recent,
                                  "updated_at": recent}],
                      reply={"n": 1})["documents"][0]
    resp = finish(pending, 201)
    g = resp.json
    expect(g["id"] == str(doc["_id"]) and g["group_id"] == g["id"], repr(g))
    expect(g["event"] == str(event) and g["description"] == "set 1", repr(g))
    expect(doc["created_at"] == doc["updated_at"], repr(doc))
    expect(g["created_at"] == iso(doc["created_at"]) == g["updated_at"], repr(g))
    expect(resp.header("location") == "/image_groups/" + g["id"])
    # Defaults: description and event null.
    pending = background(stack.post, "/image_groups", {"name": "Bare"})
    peer.expect("insert", "image_groups",
                documents=[{"_id": ObjectId, "name": "Bare", "description": None,
                            "event": None, "created_at": recent, "updated_at": recent}],
                reply={"n": 1})
    g = finish(pending, 201).json
    expect(g["description"] is None and g["event"] is None, repr(g))


def test_get_group_finds_group_then_its_images():
    gid, event = ObjectId(), ObjectId()
    later = T0 + datetime.timedelta(hours=1)
    first = image_doc(group=gid, filename="1.jpg", taken=T0, location=(-33.86, 151.2),
                      data={"Make": "Canon", "coords": {"latitude": -33.86}})
    second = image_doc(group=gid, filename="2.jpg")
    pending = background(stack.get, "/image_groups/%s" % gid)
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                sort=ABSENT, skip=ABSENT,
                reply=cursor_reply([group_doc(gid, "Roxy", "set 1", event, later)],
                                   "image_groups"))
    peer.expect("find", "images", filter={"group": gid}, sort=IMAGE_SORT,
                skip=ABSENT, limit=ABSENT,
                reply=cursor_reply([first, second], "images"))
    g = finish(pending, 200).json
    expect((g["id"], g["name"], g["description"], g["event"]) ==
           (str(gid), "Roxy", "set 1", str(event)), repr(g))
    expect(g["created_at"] == iso(later), repr(g))
    expect([i["filename"] for i in g["images"]] == ["1.jpg", "2.jpg"], repr(g["images"]))
    img = g["images"][0]
    expect(img["id"] == str(first["_id"]) and img["group"] == str(gid), repr(img))
    expect(img["taken_at"] == T0.strftime("%Y-%m-%dT%H:%M:%SZ"), repr(img))
    expect(img["data"] == {"Make": "Canon", "coords": {"latitude": -33.86}}, repr(img))
    expect(g["images"][1]["taken_at"] is None, repr(g["images"][1]))
    peer.assert_quiet()


def test_get_unknown_group_is_404_without_images_query():
    gid = ObjectId()
    pending = background(stack.get, "/image_groups/%s" % gid)
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([], "image_groups"))
    expect_error(finish(pending), 404, "Group with that ID not found")
    peer.assert_quiet()


def test_list_groups_counts_then_pages():
    event = ObjectId()
    a, b = group_doc(name="A", event=event), group_doc(name="B", event=event)
    pending = background(stack.get, "/image_groups?event=%s&limit=2&offset=1" % event)
    peer.expect("aggregate", "image_groups", **count_command({"event": event}),
                reply=count_reply(5, "image_groups"))
    peer.expect("find", "image_groups", filter={"event": event}, sort=GROUP_SORT,
                skip=1, limit=2, reply=cursor_reply([a, b], "image_groups"))
    for g in (a, b):  # each group's images, in image order, unpaged
        peer.expect("find", "images", filter={"group": g["_id"]}, sort=IMAGE_SORT,
                    skip=ABSENT, limit=ABSENT, reply=cursor_reply([], "images"))
    resp = finish(pending, 200)
    expect([g["name"] for g in resp.json] == ["A", "B"], repr(resp.json))
    expect(resp.header("x-total-count") == "5", repr(resp.headers))
    expect(resp.header("link") == '</image_groups?limit=2&offset=3&event=%s>; rel="next"'
           % event, repr(resp.header("link")))
    # The last page: no Link. The total is the count the peer gave.
    pending = background(stack.get, "/image_groups?limit=2&offset=1")
    peer.expect("aggregate", "image_groups", **count_command({}),
                reply=count_reply(3, "image_groups"))
    peer.expect("find", "image_groups", filter={}, sort=GROUP_SORT, skip=1, limit=2,
                reply=cursor_reply([a, b], "image_groups"))
    for g in (a, b):
        peer.expect("find", "images", filter={"group": g["_id"]},
                    reply=cursor_reply([], "images"))
    resp = finish(pending, 200)
    expect(resp.header("x-total-count") == "3" and resp.header("link") is None,
           repr(resp.headers))


def test_list_groups_offset_past_total_reads_no_page():
    pending = background(stack.get, "/image_groups?offset=7")
    peer.expect("aggregate", "image_groups", **count_command({}),
                reply=count_reply(7, "image_groups"))
    resp = finish(pending, 200)
    expect(resp.json == [] and resp.header("x-total-count") == "7", repr(resp))
    # An empty collection: the aggregate gives no batch, the total is 0.
    pending = background(stack.get, "/image_groups")
    peer.expect("aggregate", "image_groups", **count_command({}),
                reply=count_reply(0, "image_groups"))
    resp = finish(pending, 200)
    expect(resp.json == [] and resp.header("x-total-count") == "0", repr(resp))
    peer.assert_quiet()


def test_patch_group_find_and_modify_returns_new():
    gid = ObjectId()
    pending = background(stack.patch, "/image_groups/%s" % gid,
                         {"name": "Renamed", "event": None})
    cmd = peer.expect("findAndModify", "image_groups", query={"_id": gid},
                      update={"$set": {"name": "Renamed", "event": None,
                                       "updated_at": recent}},
                      new=True, remove=ABSENT, upsert=ABSENT,
                      reply=find_and_modify_reply(group_doc(gid, "Renamed")))
    peer.expect("find", "images", filter={"group": gid}, sort=IMAGE_SORT,
                reply=cursor_reply([], "images"))
    g = finish(pending, 200).json
    expect(g["name"] == "Renamed" and g["event"] is None and g["images"] == [], repr(g))
    expect(list(cmd["update"]) == ["$set"], "update %r" % cmd["update"])
    # A description cleared and an event set.
    event = ObjectId()
    pending = background(stack.patch, "/image_groups/%s" % gid,
                         {"description": None, "event": str(event)})
    peer.expect("findAndModify", "image_groups", query={"_id": gid},
                update={"$set": {"description": None, "event": event,
                                 "updated_at": recent}}, new=True,
                reply=find_and_modify_reply(group_doc(gid, "Renamed", event=event)))
    peer.expect("find", "images", filter={"group": gid}, reply=cursor_reply([], "images"))
    expect(finish(pending, 200).json["event"] == str(event))


def test_patch_unknown_group_is_404():
    gid = ObjectId()
    pending = background(stack.patch, "/image_groups/%s" % gid, {"name": "X"})
    peer.expect("findAndModify", "image_groups", query={"_id": gid}, new=True,
                reply=find_and_modify_reply(None))
    expect_error(finish(pending), 404, "Group with that ID not found")
    peer.assert_quiet()


def delete_group_script(gid, group, images, deleted_reply=None):
    """The documented order: the group, its images, delete those, again, the group."""
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([group], "image_groups"))
    peer.expect("find", "images", filter={"group": gid}, sort=IMAGE_SORT,
                skip=ABSENT, limit=ABSENT, reply=cursor_reply(images, "images"))
    if images:
        peer.expect("delete", "images", ordered=True,
                    deletes=[{"q": {"_id": {"$in": [i["_id"] for i in images]}},
                              "limit": 0}],
                    reply={"n": len(images)})
        peer.expect("find", "images", filter={"group": gid}, sort=IMAGE_SORT,
                    reply=cursor_reply([], "images"))
    peer.expect("findAndModify", "image_groups", query={"_id": gid}, remove=True,
                update=ABSENT, new=ABSENT,
                reply=find_and_modify_reply(deleted_reply or group))


def test_delete_group_deletes_images_then_group():
    gid = ObjectId()
    group = group_doc(gid, "Doomed")
    imgs = [image_doc(group=gid, filename="x.jpg"), image_doc(group=gid, filename="y.jpg")]
    pending = background(stack.delete, "/image_groups/%s" % gid)
    delete_group_script(gid, group, imgs, deleted_reply=group_doc(gid, "Doomed at last"))
    out = finish(pending, 200).json
    expect(out == {"image_group": {"id": str(gid), "name": "Doomed at last"},
                   "num_images": 2, "removed": ["x.jpg", "y.jpg"]}, repr(out))
    peer.assert_quiet()
    # Unknown group: one find, then 404, nothing written.
    pending = background(stack.delete, "/image_groups/%s" % gid)
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([], "image_groups"))
    expect_error(finish(pending), 404, "Group with that ID not found")
    peer.assert_quiet()


def test_delete_group_interrupted_then_retried():
    gid = ObjectId()
    group = group_doc(gid, "Half")
    imgs = [image_doc(group=gid, filename="p.jpg"), image_doc(group=gid, filename="q.jpg")]
    pending, t = started(stack.delete, "/image_groups/%s" % gid)
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([group], "image_groups"))
    peer.expect("find", "images", filter={"group": gid}, reply=cursor_reply(imgs, "images"))
    peer.hangup("delete", "images")  # a write: not retried
    expect_error(finish(pending, budget=SELECTION_S + MARGIN_S, since=t), 503)
    peer.assert_quiet()  # the group was not deleted
    # The retry finishes the job (here the server had deleted only the first image).
    pending = background(stack.delete, "/image_groups/%s" % gid)
    delete_group_script(gid, group, imgs[1:])
    out = finish(pending, 200).json
    expect(out["num_images"] == 1 and out["removed"] == ["q.jpg"], repr(out))


def test_upload_image_document_without_exif():
    pending = background(upload, JPEG, [("description", "plain")])
    doc = peer.expect(
        "insert", "images", ordered=True,
        documents=[{"_id": ObjectId, "group": None, "description": "plain",
                    "filename": "photo.jpg", "content_type": "image/jpeg",
                    "size": len(JPEG), "sha256": hashlib.sha256(JPEG).hexdigest(),
                    "width": 64, "height": 48, "taken_at": None, "taken_at_ms": None,
                    "has_taken_at": 0, "data": {}, "location": ABSENT,
                    "status": "ready", "upload": ABSENT,
                    "created_at": recent, "updated_at": recent}],
        reply={"n": 1})["documents"][0]
    img = finish(pending, 201).json
    expect(img["id"] == str(doc["_id"]) and img["taken_at"] is None, repr(img))
    expect(img["created_at"] == iso(doc["created_at"]), repr(img))
    peer.assert_quiet()


def test_upload_image_with_gps_into_group():
    gid = ObjectId()
    pending = background(upload, GPS_JPEG, [("group", str(gid))])
    # The group must exist: read before the file is processed, counted before the insert.
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([group_doc(gid)], "image_groups"))
    peer.expect("aggregate", "image_groups", **count_command({"_id": {"$in": [gid]}}),
                reply=count_reply(1, "image_groups"))
    doc = peer.expect(
        "insert", "images",
        documents=[{"_id": ObjectId, "group": gid, "description": None,
                    "filename": "photo.jpg", "content_type": "image/jpeg",
                    "size": len(GPS_JPEG), "sha256": hashlib.sha256(GPS_JPEG).hexdigest(),
                    "width": 64, "height": 48,
                    "taken_at": "2024-05-01T20:15:03+02:00",
                    "taken_at_ms": datetime.datetime(2024, 5, 1, 18, 15, 3),
                    "has_taken_at": 1,
                    "data": {"DateTimeOriginal": "2024-05-01T20:15:03",
                             "OffsetTimeOriginal": "+02:00", "Make": "Canon",
                             "Model": "EOS 5D", "Orientation": 1,
                             "coords": {"latitude": approx(-33.8688),
                                        "longitude": approx(151.2093),
                                        "altitude": approx(-12.5)}},
                    "location": {"type": "Point",
                                 "coordinates": [approx(151.2093), approx(-33.8688)]},
                    "status": "ready", "upload": ABSENT,
                    "created_at": recent, "updated_at": recent}],
        reply={"n": 1})["documents"][0]
    expect(list(doc["location"]) == ["type", "coordinates"], repr(doc["location"]))
    img = finish(pending, 201).json
    expect(img["group"] == str(gid) and img["taken_at"] == "2024-05-01T20:15:03+02:00",
           repr(img))
    # An unknown group: 404 before anything is written.
    pending = background(upload, JPEG, [("group", str(gid))])
    peer.expect("find", "image_groups", filter={"_id": gid}, limit=1,
                reply=cursor_reply([], "image_groups"))
    expect_error(finish(pending), 404, "Group with that ID not found")
    peer.assert_quiet()


def test_create_group_with_images_inserts_group_then_images():
    content_type, body = multipart([("name", "Gig")],
                                   [("images", "a.jpg", JPEG, "image/jpeg"),
                                    ("images", "b.jpg", GPS_JPEG, "image/jpeg")])
    pending = background(stack.post, "/image_groups", body,
                         headers={"Content-Type": content_type})
    g = peer.expect("insert", "image_groups",
                    documents=[{"_id": ObjectId, "name": "Gig", "description": None,
                                "event": None, "created_at": recent,
                                "updated_at": recent}],
                    reply={"n": 1})["documents"][0]
    docs = peer.expect("insert", "images", ordered=True,
                       documents=[dict(image_doc(), _id=ObjectId, group=g["_id"],
                                       filename=name, size=ANY, sha256=ANY,
                                       taken_at=ANY, taken_at_ms=ANY, has_taken_at=ANY,
                                       data=ANY, created_at=g["created_at"],
                                       updated_at=g["created_at"], upload=ABSENT,
                                       **extra)
                                  for name, extra in (("a.jpg", {"location": ABSENT}),
                                                      ("b.jpg", {"location": ANY}))],
                       reply={"n": 2})["documents"]
    out = finish(pending, 201).json
    expect(out["id"] == str(g["_id"]), repr(out))
    expect([i["id"] for i in out["images"]] == [str(d["_id"]) for d in docs], repr(out))
    peer.assert_quiet()


def test_create_group_with_images_undone_after_write_error():
    # A duplicate-key write error on the first image: nothing of ours was inserted,
    # so only the new group is deleted, and the answer is 409.
    content_type, body = multipart([("name", "Dup")], [("images", "a.jpg", JPEG, "image/jpeg")])
    pending = background(stack.post, "/image_groups", body,
                         headers={"Content-Type": content_type})
    g = peer.expect("insert", "image_groups", reply={"n": 1})["documents"][0]
    peer.expect("insert", "images", reply=duplicate_key_reply(0, collection="images"))
    peer.expect("delete", "image_groups", deletes=[{"q": {"_id": g["_id"]}, "limit": 1}],
                reply={"n": 1})
    expect_error(finish(pending), 409)
    peer.assert_quiet()


def test_create_group_with_images_undone_after_dropped_connection():
    # The images insert is sent and the connection drops before the reply: the
    # server may have stored the images. The undo must delete them by id (a no-op
    # if they are not there) before deleting the group, or images are left
    # pointing at a deleted group (store_mongo.c says "unknown (network error):
    # assume all").
    content_type, body = multipart([("name", "Drop")], [("images", "a.jpg", JPEG, "image/jpeg")])
    pending, t = started(stack.post, "/image_groups", body,
                         headers={"Content-Type": content_type})
    g = peer.expect("insert", "image_groups", reply={"n": 1})["documents"][0]
    sent = peer.hangup("insert", "images")[0]["documents"]
    try:
        got = peer.receive("delete")
        ids = [d["_id"] for d in sent]
        if got.collection != "images":
            got.reply({"n": 1})
            raise AssertionError(
                "after a dropped images insert the undo deleted %s first, not the "
                "images %s: %r" % (got.collection, ids, got.doc["deletes"]))
        diff = got.doc["deletes"] != [{"q": {"_id": {"$in": ids}}, "limit": 0}]
        got.reply({"n": 1})
        expect(not diff, "undo deletes %r" % got.doc["deletes"])
        peer.expect("delete", "image_groups",
                    deletes=[{"q": {"_id": g["_id"]}, "limit": 1}], reply={"n": 1})
    finally:
        expect_error(finish(pending, budget=SELECTION_S + MARGIN_S, since=t), 503)
    peer.assert_quiet()


def test_list_images_near():
    img = image_doc(location=(-33.87, 151.21), taken=T0)
    pending = background(stack.get, "/images?near=-33.87,151.21&radius=5000")
    filt = {"$and": [{"location": {"$geoWithin": {"$centerSphere": [
        [151.21, -33.87], 5000 / EARTH_RADIUS_M]}}}]}
    peer.expect("aggregate", "images", **count_command(filt), reply=count_reply(1, "images"))
    peer.expect("find", "images", filter=filt, sort=IMAGE_SORT, skip=ABSENT, limit=1000,
                reply=cursor_reply([img], "images"))
    resp = finish(pending, 200)
    expect([i["id"] for i in resp.json] == [str(img["_id"])], repr(resp.json))
    expect(resp.header("x-total-count") == "1" and resp.header("link") is None,
           repr(resp.headers))
    # Half the circumference: the radius is capped at pi radians (the whole sphere).
    pending = background(stack.get, "/images?near=10,20&radius=20037509&limit=3")
    filt = {"$and": [{"location": {"$geoWithin": {"$centerSphere": [[20.0, 10.0], math.pi]}}}]}
    peer.expect("aggregate", "images", **count_command(filt), reply=count_reply(0, "images"))
    resp = finish(pending, 200)
    expect(resp.json == [] and resp.header("x-total-count") == "0", repr(resp))
    peer.assert_quiet()


def test_list_images_bbox_with_paging():
    imgs = [image_doc(location=(45.5, 5.5)), image_doc(location=(46, 6))]
    q = "bbox=5,45,7,47&limit=2&offset=2"
    pending = background(stack.get, "/images?" + q)
    filt = {"$and": [{"location": {"$geoWithin": {"$box": [[5.0, 45.0], [7.0, 47.0]]}}}]}
    peer.expect("aggregate", "images", **count_command(filt), reply=count_reply(9, "images"))
    peer.expect("find", "images", filter=filt, sort=IMAGE_SORT, skip=2, limit=2,
                reply=cursor_reply(imgs, "images"))
    resp = finish(pending, 200)
    expect(len(resp.json) == 2 and resp.header("x-total-count") == "9", repr(resp.headers))
    expect(resp.header("link") == '</images?limit=2&offset=4&bbox=5,45,7,47>; rel="next"',
           repr(resp.header("link")))


def test_list_images_bbox_across_antimeridian():
    pending = background(stack.get, "/images?bbox=170,-10,-170,10")
    filt = {"$and": [{"$or": [
        {"location": {"$geoWithin": {"$box": [[170.0, -10.0], [180.0, 10.0]]}}},
        {"location": {"$geoWithin": {"$box": [[-180.0, -10.0], [-170.0, 10.0]]}}},
    ]}]}
    peer.expect("aggregate", "images", **count_command(filt), reply=count_reply(1, "images"))
    peer.expect("find", "images", filter=filt, sort=IMAGE_SORT, limit=1000,
                reply=cursor_reply([image_doc(location=(0, 179.5))], "images"))
    expect(len(finish(pending, 200).json) == 1)


def test_list_images_every_filter():
    gid = ObjectId()
    pending = background(
        stack.get, "/images?group=%s&taken_after=2024-05-01T00:00:00Z"
        "&taken_before=2024-05-02T00:00:00Z&bbox=-1,-1,1,1&near=0,0&radius=1000" % gid)
    filt = {"group": gid,
            "taken_at_ms": {"$gte": datetime.datetime(2024, 5, 1),
                            "$lte": datetime.datetime(2024, 5, 2)},
            "$and": [
                {"location": {"$geoWithin": {"$box": [[-1.0, -1.0], [1.0, 1.0]]}}},
                {"location": {"$geoWithin": {"$centerSphere": [[0.0, 0.0],
                                                               1000 / EARTH_RADIUS_M]}}}]}
    peer.expect("aggregate", "images", **count_command(filt), reply=count_reply(0, "images"))
    expect(finish(pending, 200).json == [])
    peer.assert_quiet()


def test_patch_image_moves_to_group():
    iid, gid = ObjectId(), ObjectId()
    pending = background(stack.patch, "/images/%s" % iid,
                         {"group": str(gid), "description": "moved"})
    # Its name, to keep it unique in the group it moves to (it is).
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([image_doc(iid)], "images"))
    peer.expect("aggregate", "image_groups", **count_command({"_id": gid}),
                reply=count_reply(1, "image_groups"))
    peer.expect("findAndModify", "images", query={"_id": iid},
                update={"$set": {"description": "moved", "group": gid,
                                 "updated_at": recent}},
                new=True, remove=ABSENT,
                reply=find_and_modify_reply(image_doc(iid, group=gid, description="moved")))
    img = finish(pending, 200).json
    expect(img["group"] == str(gid) and img["description"] == "moved", repr(img))
    # Out of its group: no check, group set to null.
    pending = background(stack.patch, "/images/%s" % iid, {"group": None})
    peer.expect("findAndModify", "images", query={"_id": iid},
                update={"$set": {"group": None, "updated_at": recent}}, new=True,
                reply=find_and_modify_reply(image_doc(iid)))
    expect(finish(pending, 200).json["group"] is None)
    peer.assert_quiet()


def test_patch_image_to_missing_group_writes_nothing():
    iid, gid = ObjectId(), ObjectId()
    pending = background(stack.patch, "/images/%s" % iid, {"group": str(gid)})
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([image_doc(iid)], "images"))
    peer.expect("aggregate", "image_groups", **count_command({"_id": gid}),
                reply=count_reply(0, "image_groups"))
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([image_doc(iid)], "images"))
    expect_error(finish(pending), 404, "Group with that ID not found")
    # Neither the group nor the image: the image's error (its name is read
    # first, to keep it unique in the group).
    pending = background(stack.patch, "/images/%s" % iid, {"group": str(gid)})
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([], "images"))
    expect_error(finish(pending), 404, "Image with that ID not found")
    peer.assert_quiet()


def test_delete_image():
    iid = ObjectId()
    pending = background(stack.delete, "/images/%s" % iid)
    peer.expect("findAndModify", "images", query={"_id": iid}, remove=True,
                update=ABSENT, new=ABSENT,
                reply=find_and_modify_reply(image_doc(iid, filename="gone.jpg")))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img["filename"] == "gone.jpg", repr(img))
    pending = background(stack.delete, "/images/%s" % iid)
    peer.expect("findAndModify", "images", query={"_id": iid}, remove=True,
                reply=find_and_modify_reply(None))
    expect_error(finish(pending), 404, "Image with that ID not found")
    peer.assert_quiet()


def test_upload_sweeps_use_the_indexed_filter():
    # Whatever the worker sent about upload.expires_at was answered only if
    # it had the indexed shape; anything else would have queued and failed
    # a scripted expect. Here: every such command is of that shape.
    sweeps = [d for d in peer.seen("aggregate") + peer.seen("find")
              if "upload.expires_at" in repr(d)]
    for doc in sweeps:
        expect(doc.get("aggregate", doc.get("find")) == "images", repr(doc))
        match = (doc["pipeline"][0]["$match"] if "aggregate" in doc else doc["filter"])
        expect(list(match) == ["upload.expires_at"] and
               list(match["upload.expires_at"]) == ["$lt"] and
               isinstance(match["upload.expires_at"]["$lt"], datetime.datetime),
               repr(doc))
    note("%d sweep(s) of expired uploads seen" % len(sweeps))


def test_get_pending_image_reads_upload():
    iid = ObjectId()
    expires = in_minutes(15)
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([pending_doc(iid, filename="soon.jpg", expires=expires)],
                                   "images"))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img["filename"] == "soon.jpg", repr(img))
    if "status" in img:  # rendered by image_json.c once it knows awaited uploads
        expect(img["status"] == "pending" and
               img.get("upload_expires_at") == iso(expires), repr(img))
    peer.assert_quiet()


def test_replace_file_completes_awaited_upload():
    iid, gid = ObjectId(), ObjectId()
    content_type, body = multipart([], [("image", "arrived.jpg", JPEG, "image/jpeg")])
    pending = background(stack.patch, "/images/%s/file" % iid, body,
                         headers={"Content-Type": content_type})
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([pending_doc(iid, group=gid, filename="awaited.jpg")],
                                   "images"))
    # The file's fields, status ready, and the awaited upload (and the
    # position the file does not have) unset.
    cmd = peer.expect(
        "findAndModify", "images", query={"_id": iid}, new=True, remove=ABSENT,
        update={"$set": {"filename": "arrived.jpg", "content_type": "image/jpeg",
                         "size": len(JPEG), "sha256": hashlib.sha256(JPEG).hexdigest(),
                         "width": 64, "height": 48, "taken_at": None,
                         "taken_at_ms": None, "has_taken_at": 0, "data": {},
                         "status": "ready", "updated_at": recent},
                "$unset": {"location": "", "upload": ""}},
        reply=find_and_modify_reply(image_doc(iid, group=gid, filename="arrived.jpg")))
    expect(list(cmd["update"]) == ["$set", "$unset"], "update %r" % cmd["update"])
    # After the files moved into place: is the image still there?
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([image_doc(iid, group=gid, filename="arrived.jpg")],
                                   "images"))
    img = finish(pending, 200).json
    expect(img["filename"] == "arrived.jpg" and img["group"] == str(gid), repr(img))
    expect(img.get("status", "ready") == "ready", repr(img))
    peer.assert_quiet()


def test_delete_pending_image_returns_it():
    iid = ObjectId()
    pending = background(stack.delete, "/images/%s" % iid)
    peer.expect("findAndModify", "images", query={"_id": iid}, remove=True,
                reply=find_and_modify_reply(pending_doc(iid, filename="never.jpg")))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img["filename"] == "never.jpg", repr(img))
    peer.assert_quiet()


def replacing_doc(oid=None, expires=None):
    """An image with a file that awaits a new one until expires."""
    doc = image_doc(oid, filename="had.jpg")
    doc.update(status="pending",
               upload={"filename": "next.jpg", "expires_at": expires or in_minutes(15)})
    return doc


def awaiting_delete(iid, expires):
    """The conditional delete of an image still awaiting its first file."""
    return {"query": {"_id": iid, "sha256": "", "upload.expires_at": expires},
            "remove": True, "update": ABSENT, "new": ABSENT}


def test_expired_upload_deletes_the_image_only_while_awaited():
    # Read after its upload expired, a pending image without a file is
    # deleted by a findAndModify that requires exactly that upload.
    iid, expires = ObjectId(), in_minutes(-1)
    doc = pending_doc(iid, filename="late.jpg", expires=expires)
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([doc], "images"))
    peer.expect("findAndModify", "images", **awaiting_delete(iid, expires),
                reply=find_and_modify_reply(doc))
    expect_error(finish(pending), 404, "expired before a file arrived")
    peer.assert_quiet()
    # Completed by another worker meanwhile: nothing matches, a read by _id
    # tells a conflict from a missing image, and the image stays.
    ready = image_doc(iid, filename="late.jpg")
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([doc], "images"))
    peer.expect("findAndModify", "images", **awaiting_delete(iid, expires),
                reply=find_and_modify_reply(None))
    for _ in range(2):  # the store's check, then the service's re-read
        peer.expect("find", "images", filter={"_id": iid}, limit=1,
                    reply=cursor_reply([ready], "images"))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img.get("status", "ready") == "ready", repr(img))
    peer.assert_quiet()
    # Deleted by another worker meanwhile: not found.
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([doc], "images"))
    peer.expect("findAndModify", "images", **awaiting_delete(iid, expires),
                reply=find_and_modify_reply(None))
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([], "images"))
    expect_error(finish(pending), 404, "Image with that ID not found")
    peer.assert_quiet()


def test_expired_replacement_is_forgotten_only_while_awaited():
    # An image with a file whose awaited replacement expired: the upload is
    # unset by a findAndModify that requires exactly that upload.
    iid, expires = ObjectId(), in_minutes(-1)
    doc = replacing_doc(iid, expires)
    condition = {"_id": iid, "upload.expires_at": expires}
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([doc], "images"))
    cmd = peer.expect("findAndModify", "images", query=condition, new=True,
                      remove=ABSENT,
                      update={"$set": {"status": "ready", "updated_at": recent},
                              "$unset": {"upload": ""}},
                      reply=find_and_modify_reply(image_doc(iid, filename="had.jpg")))
    expect(list(cmd["query"]) == ["_id", "upload.expires_at"], repr(cmd["query"]))
    expect_status(finish(pending), 200)
    peer.assert_quiet()
    # A newer replacement began meanwhile: nothing matches and it stays.
    newer = replacing_doc(iid, in_minutes(15))
    pending = background(stack.get, "/images/%s" % iid)
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([doc], "images"))
    peer.expect("findAndModify", "images", query=condition, new=True,
                reply=find_and_modify_reply(None))
    for _ in range(2):  # the store's check, then the service's re-read
        peer.expect("find", "images", filter={"_id": iid}, limit=1,
                    reply=cursor_reply([newer], "images"))
    expect_status(finish(pending), 200)
    peer.assert_quiet()


def test_completion_replaces_the_file_only_while_awaited():
    # A direct upload: the pending record, the PUT of its file, then the
    # completion, whose findAndModify requires the upload the URL was for.
    pending = background(stack.post, "/image_groups", {"name": "Direct",
                                                       "images": ["w.jpg"]})
    g = peer.expect("insert", "image_groups", reply={"n": 1})["documents"][0]
    doc = peer.expect(
        "insert", "images",
        documents=[dict(pending_doc(group=g["_id"], filename="w.jpg"), _id=ObjectId,
                        data={}, created_at=recent, updated_at=recent,
                        upload={"filename": "w.jpg", "expires_at": datetime.datetime})],
        reply={"n": 1})["documents"][0]
    item = finish(pending, 201).json["images"][0]
    iid, expires = doc["_id"], doc["upload"]["expires_at"]
    expect(item["id"] == str(iid), repr(item))
    path = urllib.parse.urlsplit(item["presigned_url"]).path
    # The PUT takes the file and completes the upload: two requests
    # complete it (the PUT and a retried PUT of the same file); the
    # first one's replace matches...
    condition = {"_id": iid, "upload.expires_at": expires}
    ready = dict(image_doc(iid, group=g["_id"], filename="w.jpg"),
                 sha256=hashlib.sha256(JPEG).hexdigest(), size=len(JPEG))
    pending = background(stack.request, "PUT", path, JPEG,
                         headers={"Content-Type": "image/jpeg"})
    for _ in range(2):  # before taking the file, and after storing it
        peer.expect("find", "images", filter={"_id": iid}, limit=1,
                    reply=cursor_reply([doc], "images"))
    cmd = peer.expect(
        "findAndModify", "images", query=condition, new=True, remove=ABSENT,
        update={"$set": {"filename": "w.jpg", "content_type": "image/jpeg",
                         "size": len(JPEG), "sha256": hashlib.sha256(JPEG).hexdigest(),
                         "width": 64, "height": 48, "taken_at": None,
                         "taken_at_ms": None, "has_taken_at": 0, "data": {},
                         "status": "ready", "updated_at": recent},
                "$unset": {"location": "", "upload": ""}},
        reply=find_and_modify_reply(ready))
    expect(list(cmd["query"]) == ["_id", "upload.expires_at"], repr(cmd["query"]))
    # After the files moved into place: is the image still there?
    peer.expect("find", "images", filter={"_id": iid}, limit=1,
                reply=cursor_reply([ready], "images"))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img.get("status", "ready") == "ready", repr(img))
    peer.assert_quiet()
    # ... the second one (which read the record before) matches nothing
    # and answers the image the first one completed.
    pending = background(stack.request, "PUT", path, JPEG,
                         headers={"Content-Type": "image/jpeg"})
    for _ in range(2):
        peer.expect("find", "images", filter={"_id": iid}, limit=1,
                    reply=cursor_reply([doc], "images"))
    peer.expect("findAndModify", "images", query=condition, new=True,
                reply=find_and_modify_reply(None))
    for _ in range(2):  # the store's check, then the service's re-read
        peer.expect("find", "images", filter={"_id": iid}, limit=1,
                    reply=cursor_reply([ready], "images"))
    img = finish(pending, 200).json
    expect(img["id"] == str(iid) and img["sha256"] == ready["sha256"], repr(img))
    peer.assert_quiet()


# -- errors

def test_duplicate_key_on_group_insert_is_409():
    pending, t = started(stack.post, "/image_groups", {"name": "Twice"})
    doc = peer.expect("insert", "image_groups", documents=[{"_id": ObjectId, "name": "Twice",
                                                            "description": None,
                                                            "event": None,
                                                            "created_at": recent,
                                                            "updated_at": recent}],
                      reply=duplicate_key_reply(0, collection="image_groups"))
    expect(doc["documents"][0]["_id"], "no _id")
    resp = finish(pending, budget=SELECTION_S + MARGIN_S, since=t)
    expect_error(resp, 409)
    peer.assert_quiet()


def test_not_primary_on_insert_is_503():
    pending, t = started(stack.post, "/image_groups", {"name": "Stepped down"})
    peer.expect("insert", "image_groups", error=NOT_PRIMARY)
    resp = finish(pending, budget=SELECTION_S + MARGIN_S, since=t)
    expect_error(resp, 503, "database unavailable")
    expect(resp.header("retry-after") == "1", repr(resp.headers))
    peer.assert_quiet()  # a write on a standalone is not retried
    # The next request goes through (the driver rechecks the server).
    pending = background(stack.get, "/image_groups/%s" % ObjectId())
    peer.expect("find", "image_groups", reply=cursor_reply([], "image_groups"))
    expect_status(finish(pending), 404)


def test_duplicate_key_on_find_and_modify_is_409():
    iid = ObjectId()
    pending = background(stack.patch, "/images/%s" % iid, {"description": "x"})
    peer.expect("findAndModify", "images", query={"_id": iid}, error=DUPLICATE_KEY)
    expect_error(finish(pending), 409)
    peer.assert_quiet()


def test_dropped_connection_on_read_is_503():
    gid = ObjectId()
    pending, t = started(stack.get, "/image_groups/%s" % gid)
    docs = peer.hangup("find", "image_groups", times=2, filter={"_id": gid})
    expect(len(docs) == 2, "the read was not retried once")
    resp = finish(pending, budget=SELECTION_S + MARGIN_S, since=t)
    expect_error(resp, 503, "database unavailable")
    peer.assert_quiet()
    # One drop only: the retry on a new connection answers.
    pending = background(stack.get, "/image_groups?limit=1")
    peer.hangup("aggregate", "image_groups")
    peer.expect("aggregate", "image_groups", **count_command({}),
                reply=count_reply(0, "image_groups"))
    resp = finish(pending, 200)
    expect(resp.header("x-total-count") == "0", repr(resp.headers))


def test_dropped_connection_on_write_is_503():
    iid = ObjectId()
    pending, t = started(stack.delete, "/images/%s" % iid)
    peer.hangup("findAndModify", "images", query={"_id": iid}, remove=True)
    expect_error(finish(pending, budget=SELECTION_S + MARGIN_S, since=t), 503)
    peer.assert_quiet()
    expect_status(stack.get("/healthz"), 200)


def test_outage_then_recovery_without_restart():
    peer.set_down(True)  # every request, handshakes included, is hung up
    try:
        for _ in range(2):  # a dropped ping, then a failed server check
            t = time.monotonic()
            resp = stack.get("/healthz", timeout=30)
            expect_error(resp, 503, "store: ")
            elapsed = time.monotonic() - t
            expect(elapsed <= SELECTION_S + MARGIN_S, "503 after %.2fs" % elapsed)
    finally:
        peer.set_down(False)
    t = time.monotonic()
    statuses = []

    def healthy():
        statuses.append(stack.get("/healthz", timeout=30).status)
        if statuses[-1] != 200:
            time.sleep(0.1)
        return statuses[-1] == 200
    # A single-threaded libmongoc client leaves a server whose check failed
    # alone for 5 s (its cooldown), so recovery takes up to that long.
    wait_until(healthy, timeout=10, what="/healthz to recover after the outage")
    note("recovered %.2fs after the peer came back (%d answers: %s)"
         % (time.monotonic() - t, len(statuses), sorted(set(statuses))))
    expect(set(statuses) <= {200, 503}, repr(statuses))
    pending = background(stack.get, "/images/%s" % ObjectId())
    peer.expect("find", "images", reply=cursor_reply([], "images"))
    expect_status(finish(pending), 404)


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    log = stack.read_logs()
    expect("mongodb insert image" in log, "the driver's error is not logged")
    stack.cleanup()


# -- authentication on MongoDB: API keys read per request, owners written

def key_doc(key_id, secret, role="contributor", revoked_at=0):
    return {"_id": key_id, "name": "wire", "role": role,
            "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "created_at": datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc),
            "expires_at": 0, "revoked_at": revoked_at}


def test_api_key_read_per_request_and_owner_written():
    own = Stack(config=dict(peer.config(), auth_mode="writes"), workers=1, name="mongo-auth")
    own.start()
    try:
        key_id = ObjectId()
        secret = hashlib.sha256(b"wire secret").hexdigest()
        bearer = {"Authorization": "Bearer bpk_%s%s" % (key_id, secret)}
        pending = background(own.post, "/image_groups", {"name": "Owned"}, headers=bearer)
        peer.expect("find", "api_keys", filter={"_id": key_id}, limit=1,
                    reply=cursor_reply([key_doc(key_id, secret)], "api_keys"))
        doc = peer.expect("insert", "image_groups",
                          documents=[{"_id": ObjectId, "name": "Owned", "description": None,
                                      "event": None, "created_at": recent,
                                      "updated_at": recent, "owner": "key:%s" % key_id}],
                          reply={"n": 1})["documents"][0]
        g = finish(pending, 201).json
        expect(g["owner"] == "key:%s" % key_id and g["id"] == str(doc["_id"]), repr(g))
        # Revoked in the store: refused on the next request, nothing written.
        pending = background(own.post, "/image_groups", {"name": "Refused"}, headers=bearer)
        peer.expect("find", "api_keys", filter={"_id": key_id}, limit=1,
                    reply=cursor_reply([key_doc(key_id, secret, revoked_at=5)], "api_keys"))
        expect_error(finish(pending), 401, "invalid token")
        # An unknown key: 401 too.
        pending = background(own.post, "/image_groups", {"name": "Unknown"}, headers=bearer)
        peer.expect("find", "api_keys", filter={"_id": key_id}, limit=1,
                    reply=cursor_reply([], "api_keys"))
        expect_error(finish(pending), 401, "invalid token")
        peer.assert_quiet()
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


def test_hidden_groups_left_out_of_place_filters_for_anonymous():
    own = Stack(config=dict(peer.config(), auth_mode="writes"), workers=1, name="mongo-hidden")
    own.start()
    try:
        hidden = ObjectId()
        pending = background(own.get, "/images?bbox=2.0,48.0,3.0,49.0&limit=10")
        peer.expect("find", "image_groups", filter={"location": "hidden", "owner": {"$ne": ""}},
                    projection={"_id": 1}, reply=cursor_reply([{"_id": hidden}], "image_groups"))
        count = peer.expect("aggregate", "images", reply=count_reply(1, "images"))
        match = count["pipeline"][0]["$match"]
        expect({"$or": [{"group": {"$nin": [hidden]}}, {"owner": ""}]} in match["$and"],
               repr(match))
        found = peer.expect("find", "images", reply=cursor_reply([], "images"))
        expect(found["filter"] == match, repr(found["filter"]))
        expect(finish(pending, 200).json == [], "images listed")
        peer.assert_quiet()
    finally:
        own.stop()
        own.check_sanitizers()
        own.cleanup()


# -- a pool whose database is unreachable, then recovered through SIGHUP

def test_unreachable_database_answers_503():
    global down_stack
    url = "mongodb://127.0.0.1:1/bandpics?serverSelectionTimeoutMS=500"
    down_stack = Stack(config={"database_url": url}, workers=1, name="mongo-down")
    t = time.monotonic()
    down_stack.start()
    expect(time.monotonic() - t < 10, "the pool took %.1fs to start" % (time.monotonic() - t))
    for path in ("/image_groups", "/healthz", "/images", "/image_groups/%s" % ObjectId()):
        t = time.monotonic()
        resp = down_stack.get(path, timeout=30)
        elapsed = time.monotonic() - t
        body = expect_error(resp, 503)
        expect(elapsed <= SELECTION_S + MARGIN_S, "%s answered after %.2fs" % (path, elapsed))
        if path == "/healthz":
            expect(body["detail"].startswith("store: "), repr(body))
    expect(down_stack.pool.poll() is None, "the pool exited")


def test_unreachable_database_recovers_after_sighup():
    old_workers = down_stack.worker_pids()
    seen = len(peer.seen("createIndexes"))
    down_stack.write_config(peer.config(mongo_timeout_ms=400))
    down_stack.pool.send_signal(signal.SIGHUP)
    # The master checks the new store, then a new worker opens its own.
    peer.wait_seen("createIndexes", count=seen + 4)
    wait_until(lambda: (len(down_stack.worker_pids()) == 1 and
                        not set(down_stack.worker_pids()) & set(old_workers)),
               what="the new worker")
    resp = down_stack.get("/healthz")
    expect_status(resp, 200)
    pending = background(down_stack.get, "/image_groups?limit=1")
    g = group_doc(name="Back")
    peer.expect("aggregate", "image_groups", **count_command({}),
                reply=count_reply(2, "image_groups"))
    peer.expect("find", "image_groups", filter={}, sort=GROUP_SORT, limit=1, skip=ABSENT,
                reply=cursor_reply([g], "image_groups"))
    peer.expect("find", "images", filter={"group": g["_id"]},
                reply=cursor_reply([], "images"))
    resp = finish(pending, 200)
    expect([x["name"] for x in resp.json] == ["Back"], repr(resp.json))
    expect(resp.header("x-total-count") == "2", repr(resp.headers))


def test_stalled_server_frees_the_worker():
    # A server that takes a command and never answers: socketTimeoutMS is five
    # times mongo_timeout_ms (400 ms here), and the read is retried once.
    socket_timeout = 5 * 0.4
    gid = ObjectId()
    pending, t = started(down_stack.get, "/image_groups/%s" % gid)
    stalled = [peer.receive("find", "image_groups", filter={"_id": gid})]
    stalled.append(peer.receive("find", "image_groups", filter={"_id": gid},
                                timeout=socket_timeout + MARGIN_S))
    resp = finish(pending, budget=2 * socket_timeout + MARGIN_S, since=t)
    elapsed = time.monotonic() - t
    for got in stalled:
        try:
            got.hangup()
        except Exception:  # the driver closed it already
            pass
    expect_error(resp, 503)
    note("a stalled server gave 503 after %.2fs (mongo_timeout_ms 0.4s)" % elapsed)
    peer.assert_quiet()


def test_stop_recovered_pool_cleanly():
    try:
        expect(down_stack is not None, "no pool was started")
        down_stack.stop()
        down_stack.check_sanitizers()
        down_stack.cleanup()
    finally:
        peer.stop()


if __name__ == "__main__":
    main([test_start, test_startup_creates_indexes, test_healthz_pings,
          test_healthz_failing_ping_is_503, test_create_group_inserts_document,
          test_get_group_finds_group_then_its_images,
          test_get_unknown_group_is_404_without_images_query,
          test_list_groups_counts_then_pages, test_list_groups_offset_past_total_reads_no_page,
          test_patch_group_find_and_modify_returns_new, test_patch_unknown_group_is_404,
          test_delete_group_deletes_images_then_group,
          test_delete_group_interrupted_then_retried,
          test_upload_image_document_without_exif, test_upload_image_with_gps_into_group,
          test_create_group_with_images_inserts_group_then_images,
          test_create_group_with_images_undone_after_write_error,
          test_create_group_with_images_undone_after_dropped_connection,
          test_list_images_near, test_list_images_bbox_with_paging,
          test_list_images_bbox_across_antimeridian, test_list_images_every_filter,
          test_patch_image_moves_to_group, test_patch_image_to_missing_group_writes_nothing,
          test_delete_image, test_upload_sweeps_use_the_indexed_filter,
          test_get_pending_image_reads_upload,
          test_replace_file_completes_awaited_upload, test_delete_pending_image_returns_it,
          test_expired_upload_deletes_the_image_only_while_awaited,
          test_expired_replacement_is_forgotten_only_while_awaited,
          test_completion_replaces_the_file_only_while_awaited,
          test_duplicate_key_on_group_insert_is_409,
          test_not_primary_on_insert_is_503, test_duplicate_key_on_find_and_modify_is_409,
          test_dropped_connection_on_read_is_503, test_dropped_connection_on_write_is_503,
          test_outage_then_recovery_without_restart,
          test_api_key_read_per_request_and_owner_written,
          test_hidden_groups_left_out_of_place_filters_for_anonymous, test_stop_cleanly,
          test_unreachable_database_answers_503,
          test_unreachable_database_recovers_after_sighup,
          test_stalled_server_frees_the_worker, test_stop_recovered_pool_cleanly])
