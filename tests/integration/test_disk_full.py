"""test_disk_full.py: a full disk, through nginx and the real program.

The data directory (or nginx's body directory) is a small tmpfs the test
mounts and unmounts (as root; skipped with the reason where mounting is
not allowed). A full disk is 507 with a JSON detail wherever it strikes:
receiving the upload, rendering the gallery sizes, storing the files,
the database, or nginx buffering the body; nothing is half-written and
no file or record is left behind. Uploads are refused before their body
is read while the disk has less than min_free_bytes free, and /healthz
says so.
"""
import os
import signal
import subprocess

from harness import (BIN, Skip, Stack, expect, expect_error, expect_status, main,
                     wait_until)
from images import make_image, multipart, padded_jpeg

MiB = 1024 * 1024


def mount_tmpfs(path, size):
    """Mounts a tmpfs of size at path, or raises Skip saying why not."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        raise Skip("needs root to mount a tmpfs (the test's small disk)")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size,
                           "tmpfs", path], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Skip("mounting a tmpfs is not allowed here: " + proc.stderr.strip())


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_to(path, leave):
    """Grows path/filler until the disk has about leave bytes free."""
    filler = os.path.join(path, "filler")
    with open(filler, "ab") as f:
        want = free_bytes(path) - leave
        if want > 0:
            f.write(b"\0" * want)
            f.flush()
            os.fsync(f.fileno())
    if free_bytes(path) > leave:
        return
    # Too full: shrink it back.
    size = os.path.getsize(filler) - (leave - free_bytes(path))
    os.truncate(filler, max(0, size))


def stored(stack):
    """The files under files/ and tmp/ of the data directory."""
    found = []
    for sub in ("files", "tmp"):
        for root, _, names in os.walk(os.path.join(stack.data_dir, sub)):
            found += [os.path.join(root, n) for n in names]
    return sorted(found)


def image_count(stack):
    return int(stack.get("/images?limit=1").header("x-total-count"))


def photo(width=2400, height=1800):
    return make_image(width, height, "jpg")


def upload(stack, data):
    ctype, body = multipart([], [("image", "p.jpg", data, "image/jpeg")])
    return stack.post("/images", body, headers={"Content-Type": ctype}, timeout=120)


def test_full_data_disk_is_507_and_leaves_nothing():
    # min_free_bytes 0: no early refusal, so that the disk runs out in the
    # middle of the work.
    stack = Stack(name="diskfull", workers=1, config={"min_free_bytes": "0"})
    mount_tmpfs(stack.data_dir, 24 * MiB)
    try:
        stack.start()
        data = padded_jpeg(3 * MiB, photo())
        expect_status(upload(stack, data), 201)
        files_per_image = len(stored(stack))
        # From no room for the upload itself to just past room for
        # everything (the part file, linked as the original, then the
        # gallery sizes and the record): each answer is 201 or a JSON 507,
        # never a 500, and a refused upload leaves no file and no record.
        seen, details = {}, set()
        for leave in [256 * 1024, len(data) // 2] + \
                list(range(len(data) - 64 * 1024, len(data) + 320 * 1024, 16 * 1024)):
            fill_to(stack.data_dir, leave)
            before_files, before_count = stored(stack), image_count(stack)
            resp = upload(stack, data)
            seen.setdefault(resp.status, []).append(free_bytes(stack.data_dir))
            if resp.status == 201:
                expect(len(stored(stack)) == len(before_files) + files_per_image,
                       "an accepted upload stored %r" % (set(stored(stack)) - set(before_files)))
                stack.delete("/images/" + resp.json["id"])
                continue
            expect_error(resp, 507)
            details.add(resp.json["detail"])
            expect(stored(stack) == before_files,
                   "a refused upload (%d bytes free) left %r"
                   % (leave, sorted(set(stored(stack)) - set(before_files))))
            expect(image_count(stack) == before_count, "a refused upload left a record")
        print("# statuses by room left: %r; 507 details: %r"
              % ({k: len(v) for k, v in seen.items()}, sorted(details)))
        expect(set(seen) == {201, 507}, "statuses %r" % sorted(seen))
        # Replacing a file on a full disk: 507, the old image intact.
        image = stack.get("/images?limit=1").json[0]
        fill_to(stack.data_dir, 256 * 1024)
        ctype, body = multipart([], [("image", "q.jpg", padded_jpeg(3 * MiB, photo(2000, 1500)),
                                      "image/jpeg")])
        expect_error(stack.patch("/images/%s/file" % image["id"], body,
                                 headers={"Content-Type": ctype}, timeout=120), 507)
        after = stack.get("/images/" + image["id"]).json
        expect(after["sha256"] == image["sha256"] and after["filename"] == image["filename"],
               "the replaced image changed: %r" % after)
        os.unlink(os.path.join(stack.data_dir, "filler"))
        expect_status(upload(stack, data), 201)
        stack.stop()
        stack.check_sanitizers()
    finally:
        stack.stop()
        unmount(stack.data_dir)
        stack.cleanup()


def test_uploads_refused_under_min_free_bytes():
    stack = Stack(name="minfree", workers=1, config={"min_free_bytes": "8M"})
    mount_tmpfs(stack.data_dir, 24 * MiB)
    try:
        stack.start()
        expect_status(stack.get("/healthz"), 200)
        expect(stack.get("/healthz").json["checks"]["disk"] == "ok")
        fill_to(stack.data_dir, 6 * MiB)
        before = stored(stack)
        expect_error(upload(stack, photo(640, 480)), 507, "min_free_bytes")
        expect(stored(stack) == before, "a refused upload left files")
        expect_error(stack.get("/healthz"), 503, "disk")
        # --check still passes, and warns.
        check = subprocess.run([BIN, "--config", stack.config_path, "--check"],
                               capture_output=True, text=True, timeout=60, env=stack.env())
        expect(check.returncode == 0 and "uploads are refused" in check.stderr,
               check.stdout + check.stderr)
        # Reads and JSON writes go on.
        expect_status(stack.post("/image_groups", {"name": "still here"}), 201)
        expect_status(stack.get("/image_groups"), 200)
        os.unlink(os.path.join(stack.data_dir, "filler"))
        expect_status(stack.get("/healthz"), 200)
        expect_status(upload(stack, photo(640, 480)), 201)
        stack.stop()
        stack.check_sanitizers()
    finally:
        stack.stop()
        unmount(stack.data_dir)
        stack.cleanup()


def test_nginx_body_disk_full_is_507():
    """nginx cannot write the body to its temporary file: its own 500
    becomes a JSON 507 (bandpics-locations.conf)."""
    stack = Stack(name="bodyfull", workers=1)
    nginx_tmp = os.path.join(stack.dir, "tmp")
    mount_tmpfs(nginx_tmp, 2 * MiB)
    try:
        stack.start()
        resp = upload(stack, photo(2400, 1800) + b"\0" * (3 * MiB))
        expect_error(resp, 507, "could not be stored")
        expect(resp.header("content-type") == "application/json", repr(resp.headers))
        expect_status(upload(stack, photo(320, 240)), 201)
        stack.stop()
        stack.check_sanitizers()
    finally:
        stack.stop()
        unmount(nginx_tmp)
        stack.cleanup()


if __name__ == "__main__":
    main([test_full_data_disk_is_507_and_leaves_nothing,
          test_uploads_refused_under_min_free_bytes,
          test_nginx_body_disk_full_is_507])
