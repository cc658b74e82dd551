"""test_corpus.py: the conformance run. Every file of the shared camera
corpus (../shared/corpus/exif-samples) is uploaded through nginx and what
the API reads is compared with what exiftool read
(exif-samples.expected.json): latitude and longitude (1e-6 degrees),
altitude (1e-3 m), DateTimeOriginal, OffsetTimeOriginal and the stored
width and height. Differences that cannot be removed are listed below
with their reason; an entry that no longer differs fails the run, so the
list cannot go stale.
"""
import json
import os
import sys

from harness import SRCDIR, Stack, expect, main
from images import multipart

CORPUS = os.environ.get("BANDPICS_CORPUS",
                        os.path.join(SRCDIR, "..", "shared", "corpus"))

# (file, field): reason.
KNOWN_DIFFERENCES = {
    ("jpg/tests/30-type_error.jpg", "datetime_original"):
        "its ExifIFD pointer has format ASCII: exiftool refuses to follow it, "
        "libexif follows it and reads the date",
}

# Files exiftool reads (metadata only) that the API refuses: file: reason.
REFUSED = {
    "jpg/corrupted.jpg":
        "its scan data is corrupt from row 312 on and ends before the declared "
        "3648x2736 are covered (libjpeg: premature end of data segment): 422 "
        "like a truncated file",
}

stack = None
results = {}


def expected_entries():
    with open(os.path.join(CORPUS, "exif-samples.expected.json")) as f:
        return json.load(f)


def compare(name, want, got):
    """Yields (field, wanted, got) for every field that disagrees."""
    data = got.get("data", {})
    coords = data.get("coords", {})
    def close(a, b, tol):
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= tol
    checks = [
        ("gps_latitude", coords.get("latitude"), 1e-6),
        ("gps_longitude", coords.get("longitude"), 1e-6),
        ("gps_altitude", coords.get("altitude"), 1e-3),
    ]
    for field, value, tol in checks:
        # exiftool reports an altitude without a position too; we read the
        # altitude only as part of a fix.
        if field == "gps_altitude" and want["gps_latitude"] is None:
            continue
        if not close(want[field], value, tol):
            yield field, want[field], value
    for field, key in (("datetime_original", "DateTimeOriginal"),
                       ("offset_time_original", "OffsetTimeOriginal")):
        if want[field] != data.get(key):
            yield field, want[field], data.get(key)
    for field in ("width", "height"):
        if want[field] != got.get(field):
            yield field, want[field], got.get(field)


def test_upload_every_corpus_file():
    global stack
    entries = expected_entries()
    stack = Stack(name="corpus", config={"max_pixels": 200000000}).start()
    differences, seen, refused = [], set(), set()
    uploaded = 0
    for name, want in sorted(entries.items()):
        path = os.path.join(CORPUS, "exif-samples", name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        ctype, body = multipart([], [("image", os.path.basename(name), data,
                                      "application/octet-stream")])
        resp = stack.post("/images", body, headers={"Content-Type": ctype},
                          timeout=120)
        if name in REFUSED:
            expect(resp.status == 422 and b"truncated" in resp.body,
                   "%s: %r (%s)" % (name, resp, REFUSED[name]))
            refused.add(name)
            continue
        if want["expect_status"] == "ok":
            expect(resp.status == 201, "%s: %r" % (name, resp))
        uploaded += 1
        for field, wanted, got in compare(name, want, resp.json):
            if (name, field) in KNOWN_DIFFERENCES:
                seen.add((name, field))
                continue
            differences.append("%s %s: exiftool %r, API %r" % (name, field, wanted, got))
    print("# uploaded %d corpus files; %d known differences"
          % (uploaded, len(seen)), flush=True)
    expect(uploaded > 0, "no corpus file found")
    expect(not differences, "\n".join(differences))
    stale = set(KNOWN_DIFFERENCES) - seen
    expect(not stale, "listed differences that no longer occur: %r" % sorted(stale))
    expect(refused == set(REFUSED), "refusals not seen: %r" % sorted(set(REFUSED) - refused))


def test_stop_cleanly():
    stack.stop()
    stack.check_sanitizers()
    stack.cleanup()


if __name__ == "__main__":
    if not os.path.exists(os.path.join(CORPUS, "exif-samples.expected.json")):
        # A whole-file skip is not a failure for automake's TAP driver.
        print("1..0 # SKIP corpus not found at %s (set BANDPICS_CORPUS)" % CORPUS)
        sys.exit(0)
    main([test_upload_every_corpus_file, test_stop_cleanly])
