"""test_crash_points.py: a worker killed at each step of a write.
Covered: creating an image, a batch (a group of photos in one request),
replacing a file, moving an image to another group, completing a
presigned upload, deleting an image and a group.

The test build (configure --enable-test-hooks, as ./deploy/dev test
builds it) has named crash points: BANDPICS_CRASH_AT=<point> in the
pool's environment makes a worker SIGKILL itself there. For each point
of creating an image and of replacing its file, the request dies with
its worker; then --gc runs, and the image is wholly old or wholly new:
its record, original, fullsize and thumb agree (sha256, size,
dimensions), and nothing is left over (a second --gc finds nothing).
"""
import hashlib
import os
import signal
import subprocess

from harness import (BIN, Skip, Stack, expect, expect_status, main, wait_until)
from direct_uploads import put_file
from images import jpeg_size, make_image, multipart

CREATE_POINTS = ["create:stored"]
REPLACE_POINTS = ["replace:staged", "replace:recorded", "promote:public",
                  "promote:fullsize", "promote:thumb", "promote:original"]

stack = None
OLD = NEW = None


def has_crash_points():
    """Whether BIN was built with --enable-test-hooks."""
    with open(BIN, "rb") as f:
        return b"BANDPICS_CRASH_AT" in f.read()


def restart_pool(point):
    stack.stop_pool()
    stack.pool_env = {"BANDPICS_CRASH_AT": point} if point else {}
    stack.start_pool()
    wait_until(lambda: stack.worker_pids(), what="a worker")


def gc():
    proc = subprocess.run([BIN, "--config", stack.config_path, "--gc", "--grace", "0"],
                          capture_output=True, text=True, timeout=120, env=stack.env())
    expect(proc.returncode == 0, proc.stdout + proc.stderr)
    return proc.stdout


def fetch(path):
    resp = stack.get(path)
    expect_status(resp, 200)
    return resp.body


def upload(data, name="p.jpg", timeout=60):
    ctype, body = multipart([], [("image", name, data, "image/jpeg")])
    return stack.post("/images", body, headers={"Content-Type": ctype}, timeout=timeout)


def replace(image_id, data):
    ctype, body = multipart([], [("image", "new.jpg", data, "image/jpeg")])
    return stack.patch("/images/%s/file" % image_id, body,
                       headers={"Content-Type": ctype}, timeout=60)


def check_whole(image_id):
    """The record and its three files agree; returns which picture it is
    ("old" or "new")."""
    record = stack.get("/images/" + image_id).json
    original = fetch("/images/%s/file" % image_id)
    fullsize = fetch("/images/%s/fullsize" % image_id)
    thumb = fetch("/images/%s/thumb" % image_id)
    expect(hashlib.sha256(original).hexdigest() == record["sha256"] and
           len(original) == record["size"], "original and record disagree: %r" % record)
    expect(jpeg_size(original) == (record["width"], record["height"]),
           "record dimensions %r" % record)
    expect(jpeg_size(fullsize) == (record["width"], record["height"]),
           "fullsize %r, record %r" % (jpeg_size(fullsize), record))
    tw, th = jpeg_size(thumb)
    expect((tw > th) == (record["width"] > record["height"]) and max(tw, th) == 300,
           "thumb %dx%d for a %dx%d record" % (tw, th, record["width"], record["height"]))
    return "old" if original == OLD else "new" if original == NEW else "neither"


def check_nothing_left():
    out = gc()
    expect("0 orphan, 0 stale" in out and "0 repaired, 0 dropped" in out,
           "a second --gc found work: " + out)
    leftovers = [os.path.join(root, n)
                 for root, _, names in os.walk(os.path.join(stack.data_dir, "files", "staging"))
                 for n in names]
    expect(not leftovers, "staging left: %r" % leftovers)


def test_start():
    global stack, OLD, NEW
    if not has_crash_points():
        raise Skip("%s has no crash points: configure with --enable-test-hooks "
                   "(./deploy/dev test does)" % BIN)
    stack = Stack(name="crash", workers=1).start()
    # Landscape before, portrait after: every file tells which it is.
    OLD = make_image(640, 480, "jpg")
    NEW = make_image(480, 640, "jpg")


def test_replace_killed_at_each_step():
    seen = {}
    for point in REPLACE_POINTS:
        restart_pool(None)
        image = upload(OLD).json
        restart_pool(point)
        killed = replace(image["id"], NEW)
        expect(killed.status >= 500, "%s: the worker was not killed: %r" % (point, killed))
        restart_pool(None)
        out = gc()
        seen[point] = check_whole(image["id"])
        expect(seen[point] in ("old", "new"), "%s: %s" % (point, seen[point]))
        check_nothing_left()
        print("# %s: %s after --gc (%s)" % (point, seen[point],
                                            out.strip().splitlines()[-1]), flush=True)
    # Before the record took the new file the image stays old; after, new.
    expect(seen["replace:staged"] == "old", repr(seen))
    for point in REPLACE_POINTS[1:]:
        expect(seen[point] == "new", repr(seen))


def test_create_killed_before_the_record():
    restart_pool(None)
    before = int(stack.get("/images?limit=1").header("x-total-count"))
    restart_pool("create:stored")
    expect(upload(NEW).status >= 500, "the worker was not killed")
    restart_pool(None)
    gc()
    expect(int(stack.get("/images?limit=1").header("x-total-count")) == before)
    check_nothing_left()


def test_move_killed_before_and_after_the_record():
    """Moving an image to another group (PATCH /images/{id} with a group)
    is one record update: killed before it the image is in its old group,
    after it in the new one, its files whole either way."""
    restart_pool(None)
    old_group = stack.post("/image_groups", {"name": "from"}).json["id"]
    new_group = stack.post("/image_groups", {"name": "to"}).json["id"]
    for point, expected in (("move:before", old_group), ("move:recorded", new_group)):
        restart_pool(None)
        ctype, body = multipart([("group", old_group)],
                                [("image", "m.jpg", OLD, "image/jpeg")])
        image = stack.post("/images", body, headers={"Content-Type": ctype}).json
        restart_pool(point)
        expect(stack.patch("/images/" + image["id"], {"group": new_group}).status >= 500,
               "%s: the worker was not killed" % point)
        restart_pool(None)
        gc()
        record = stack.get("/images/" + image["id"]).json
        expect(record["group"] == expected, "%s: %r" % (point, record))
        expect(check_whole(image["id"]) == "old", point)
        check_nothing_left()


def files_of(image_id):
    """The stored files whose key names image_id."""
    root = os.path.join(stack.data_dir, "files")
    return [os.path.join(r, n) for r, _, names in os.walk(root) for n in names
            if image_id in os.path.join(r, n)]


def test_batch_killed_after_one_image_stored():
    """A group of three photos in one request, killed after the first
    one's files: no group, no image, no file once --gc has run."""
    restart_pool(None)
    groups = int(stack.get("/image_groups?limit=1").header("x-total-count"))
    images = int(stack.get("/images?limit=1").header("x-total-count"))
    restart_pool("batch:one-stored")
    ctype, body = multipart([("name", "batch")], [("images", "b%d.jpg" % i, NEW, "image/jpeg")
                                                 for i in range(3)])
    expect(stack.post("/image_groups", body, headers={"Content-Type": ctype},
                      timeout=60).status >= 500, "the worker was not killed")
    restart_pool(None)
    gc()
    expect(int(stack.get("/image_groups?limit=1").header("x-total-count")) == groups)
    expect(int(stack.get("/images?limit=1").header("x-total-count")) == images)
    check_nothing_left()


def test_deletes_killed_after_the_record():
    """Deleting an image, and a group with an image, killed after the
    record went and before the files did: --gc removes the files."""
    restart_pool(None)
    image = upload(OLD).json
    ctype, body = multipart([("name", "doomed")], [("images", "d.jpg", OLD, "image/jpeg")])
    group = stack.post("/image_groups", body, headers={"Content-Type": ctype}).json
    in_group = group["images"][0]["id"]
    for point, path, gone in (("delete:recorded", "/images/" + image["id"], image["id"]),
                              ("group-delete:recorded", "/image_groups/" + group["id"],
                               in_group)):
        restart_pool(point)
        expect(stack.delete(path).status >= 500, "%s: the worker was not killed" % point)
        restart_pool(None)
        expect(stack.get(path).status == 404, "%s: the record is back" % point)
        expect(files_of(gone), "%s: the kill came after the files went" % point)
        gc()
        expect(not files_of(gone), "%s: files left: %r" % (point, files_of(gone)))
        check_nothing_left()


def test_direct_upload_completion_killed_at_each_step():
    """Completing a presigned upload (here as its file arrives at the
    local upload URL) moves its files into place as a replacement does:
    killed at each step, the image is after --gc either still awaiting
    completion (and completes when asked) or ready with its files whole."""
    for point in ["replace:staged", "replace:recorded", "promote:thumb", "promote:original"]:
        restart_pool(None)
        item = stack.post("/image_groups", {"name": "direct",
                                            "images": ["c.jpg"]}).json["images"][0]
        # The local store's upload URL completes the image as the file
        # arrives (S3's completes on its event or POST .../complete).
        restart_pool(point)
        expect(put_file(item, NEW)[0] >= 500, "%s: the worker was not killed" % point)
        restart_pool(None)
        gc()
        # Before the record took the file, --gc (which completes uploads
        # that arrived) finishes the completion; after, the move.
        record = stack.get("/images/" + item["id"]).json
        expect(record["status"] == "ready", "%s: %r" % (point, record))
        expect(check_whole(item["id"]) == "new", point)
        check_nothing_left()


def test_decoder_crash_or_stall_costs_the_request_not_the_worker():
    """Decoding runs in the worker's decoder process: a decoder killed by
    a signal is 422, one that never ends is 413 after decode_timeout_s;
    the worker lives on and serves the next upload. The decoder is kept
    from one image to the next and holds none of the worker's
    descriptors (a kept web server connection must close when the
    worker closes it)."""
    stack.write_config({"decode_timeout_s": 2})
    for variable, point, status, detail in (
            ("BANDPICS_CRASH_AT", "decode:crash", 422, "could not be decoded"),
            ("BANDPICS_STALL_AT", "decode:stall", 413, "too long to decode")):
        stack.stop_pool()
        stack.pool_env = {variable: point}
        stack.start_pool()
        wait_until(lambda: stack.worker_pids(), what="a worker")
        worker = stack.worker_pids()
        before = set(os.listdir(os.path.join(stack.data_dir, "tmp")))
        resp = upload(NEW, timeout=120)
        expect(resp.status == status and detail in resp.json.get("detail", ""),
               "%s: %r" % (point, resp))
        expect(stack.worker_pids() == worker, "%s: the worker died" % point)
        expect(set(os.listdir(os.path.join(stack.data_dir, "tmp"))) <= before,
               "%s: files left in tmp: %r" % (point, sorted(
                   set(os.listdir(os.path.join(stack.data_dir, "tmp"))) - before)))
    restart_pool(None)
    worker = stack.worker_pids()
    expect_status(upload(NEW), 201)
    expect(stack.worker_pids() == worker)
    decoders = children_of(worker[0])
    expect(len(decoders) == 1, "decoder processes: %r" % decoders)
    expect_status(upload(OLD), 201)
    expect(children_of(worker[0]) == decoders, "the decoder was not kept")
    fds = sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % decoders[0]))
    expect(fds == [0, 1, 2, 3], "the decoder holds descriptors %r" % fds)
    stack.write_config({})


def test_decoder_is_confined():
    """The decoder process runs under a seccomp filter and Landlock: its
    probe (test builds, BANDPICS_PROBE_SANDBOX) finds a TCP socket, exec
    and fork refused (EPERM) and creating a file anywhere but its own
    cache directory refused (EACCES), while creating one there (where
    ImageMagick's pixel cache spills past its memory policy) works. The
    upload itself succeeds."""
    stack.stop_pool()
    stack.pool_env = {"BANDPICS_PROBE_SANDBOX": "1"}
    stack.start_pool()
    wait_until(lambda: stack.worker_pids(), what="a worker")
    expect_status(upload(NEW), 201)
    wait_until(lambda: "sandbox probe:" in stack.read_logs(), what="the probe's line")
    line = [l for l in stack.read_logs().splitlines() if "sandbox probe:" in l][-1]
    expect("socket=EPERM" in line and "exec=EPERM" in line and "fork=EPERM" in line,
           line)
    if "no Landlock" in stack.read_logs():
        print("# this kernel has no Landlock: file creation not confined")
    else:
        expect("create_cache=ALLOWED" in line and "create_elsewhere=EACCES" in line, line)
    restart_pool(None)


def children_of(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return sorted(int(p) for p in f.read().split())


def test_stop():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    main([test_start, test_replace_killed_at_each_step, test_create_killed_before_the_record,
          test_batch_killed_after_one_image_stored, test_deletes_killed_after_the_record,
          test_move_killed_before_and_after_the_record,
          test_direct_upload_completion_killed_at_each_step,
          test_decoder_crash_or_stall_costs_the_request_not_the_worker,
          test_decoder_is_confined, test_stop])
