"""images.py: test images and upload bodies for the integration tests.

Synthetic images come from the tests/mkimage tool (MagickWand); EXIF
blocks are built here byte by byte, so every value a test checks is one
it wrote. Also a multipart/form-data encoder and a JPEG size reader.
"""
import os
import secrets
import struct
import subprocess
import tempfile
import zlib

MKIMAGE = os.environ.get("BANDPICS_MKIMAGE", "")


def make_image(width, height, ext):
    """The bytes of a synthetic image of the format ext ("jpg", "png", ...)."""
    fd, path = tempfile.mkstemp(suffix="." + ext)
    os.close(fd)
    try:
        subprocess.run([MKIMAGE, str(width), str(height), path], check=True)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _rational(value, denominator=1000000):
    return struct.pack("<II", int(round(value * denominator)), denominator)


def _dms(value):
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return (struct.pack("<II", degrees, 1) + struct.pack("<II", minutes, 1) +
            _rational(seconds, 10000))


class _Ifd:
    """Entries of one TIFF IFD: (tag, type, count, payload bytes)."""

    def __init__(self):
        self.entries = []

    def ascii(self, tag, text):
        data = text.encode() + b"\0"
        self.entries.append((tag, 2, len(data), data))

    def short(self, tag, value):
        self.entries.append((tag, 3, 1, struct.pack("<H", value)))

    def long(self, tag, value):
        self.entries.append((tag, 4, 1, struct.pack("<I", value)))

    def byte(self, tag, value):
        self.entries.append((tag, 1, 1, bytes([value])))

    def rationals(self, tag, data):
        self.entries.append((tag, 5, len(data) // 8, data))

    def size(self):
        extra = sum(len(d) + (len(d) & 1) for _, _, _, d in self.entries if len(d) > 4)
        return 2 + 12 * len(self.entries) + 4 + extra

    def encode(self, offset):
        """The IFD placed at offset in the TIFF block (no next IFD)."""
        entries = sorted(self.entries)
        head = struct.pack("<H", len(entries))
        data_at = offset + 2 + 12 * len(entries) + 4
        tail = b""
        for tag, kind, count, data in entries:
            if len(data) <= 4:
                head += struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, kind, count, data_at + len(tail))
                tail += data + (b"\0" if len(data) & 1 else b"")
        return head + struct.pack("<I", 0) + tail


def exif_block(make=None, model=None, orientation=None, original=None,
               offset=None, lat=None, lon=None, alt=None, gps_utc=None,
               null_fix=False):
    """A little-endian EXIF block ("Exif\\0\\0" + TIFF) with the given values.
    gps_utc is "YYYY:MM:DD HH:MM:SS"; null_fix writes a 0/0 GPS position."""
    ifd0, exif, gps = _Ifd(), _Ifd(), _Ifd()
    if make:
        ifd0.ascii(0x010F, make)
    if model:
        ifd0.ascii(0x0110, model)
    if orientation:
        ifd0.short(0x0112, orientation)
    if original:
        exif.ascii(0x9003, original)
    if offset:
        exif.ascii(0x9011, offset)
    if lat is not None:
        gps.entries.append((0x0000, 1, 4, bytes([2, 3, 0, 0])))
        gps.ascii(0x0001, "N" if lat >= 0 else "S")
        gps.rationals(0x0002, _dms(lat))
        gps.ascii(0x0003, "E" if lon >= 0 else "W")
        gps.rationals(0x0004, _dms(lon))
    if null_fix:
        gps.ascii(0x0001, "N")
        gps.rationals(0x0002, struct.pack("<II", 0, 0) * 3)
        gps.ascii(0x0003, "E")
        gps.rationals(0x0004, struct.pack("<II", 0, 0) * 3)
    if gps_utc:
        day, clock = gps_utc.split(" ")
        h, m, sec = (int(x) for x in clock.split(":"))
        gps.rationals(0x0007, struct.pack("<IIIIII", h, 1, m, 1, sec, 1))
        gps.ascii(0x001D, day)
    if alt is not None:
        gps.byte(0x0005, 1 if alt < 0 else 0)
        gps.rationals(0x0006, _rational(abs(alt), 1000))
    # Pointers to the sub-IFDs: zero at first, to size IFD0, then set.
    ifd0.long(0x8769, 0)
    if gps.entries:
        ifd0.long(0x8825, 0)
    ifd0_at = 8
    exif_at = ifd0_at + ifd0.size()
    gps_at = exif_at + exif.size()
    ifd0.entries = [e for e in ifd0.entries if e[0] not in (0x8769, 0x8825)]
    ifd0.long(0x8769, exif_at)
    if gps.entries:
        ifd0.long(0x8825, gps_at)
    tiff = b"II*\0" + struct.pack("<I", ifd0_at) + ifd0.encode(ifd0_at)
    tiff += exif.encode(exif_at)
    if gps.entries:
        tiff += gps.encode(gps_at)
    return b"Exif\0\0" + tiff


def with_exif(jpeg, block):
    """jpeg with an APP1 segment holding block right after SOI."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block + jpeg[2:]


def png_with_exif(png, block):
    """png with an eXIf chunk holding block (without "Exif\\0\\0") after IHDR."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    tiff = block[6:] if block.startswith(b"Exif\0\0") else block
    ihdr_end = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    chunk = (struct.pack(">I", len(tiff)) + b"eXIf" + tiff +
             struct.pack(">I", zlib.crc32(b"eXIf" + tiff) & 0xFFFFFFFF))
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def webp_with_exif(webp, block, width, height):
    """A simple WebP (one VP8/VP8L chunk) made extended (VP8X) with an
    EXIF chunk holding block (without "Exif\\0\\0") after the image."""
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    image = webp[12:]
    assert image[:4] in (b"VP8 ", b"VP8L"), image[:4]
    tiff = block[6:] if block.startswith(b"Exif\0\0") else block
    flags = 0x08  # EXIF metadata present
    vp8x = (b"VP8X" + struct.pack("<I", 10) + bytes([flags, 0, 0, 0]) +
            (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))
    exif = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + (b"\0" if len(tiff) % 2 else b"")
    body = b"WEBP" + vp8x + image + exif
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_chunks(data, kind):
    """The payloads of every chunk of kind (b"VP8 ", ...) of a WebP."""
    out, i = [], 12
    while i + 8 <= len(data):
        length = struct.unpack("<I", data[i + 4:i + 8])[0]
        if data[i:i + 4] == kind:
            out.append(data[i + 8:i + 8 + length])
        i += 8 + length + (length & 1)
    return out


def png_with_compressed_exif(png, block):
    """png with block in a zTXt "Raw profile type exif" chunk (hex text,
    deflated: GPS there cannot be removed without re-encoding the chunk)."""
    tiff = block if block.startswith(b"Exif\0\0") else b"Exif\0\0" + block
    hexed = tiff.hex()
    text = ("\nexif\n%8d\n" % len(tiff) +
            "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n").encode()
    data = b"Raw profile type exif\0\0" + zlib.compress(text)
    chunk = (struct.pack(">I", len(data)) + b"zTXt" + data +
             struct.pack(">I", zlib.crc32(b"zTXt" + data) & 0xFFFFFFFF))
    ihdr_end = 8 + 12 + struct.unpack(">I", png[8:12])[0]
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def png_chunks(data, kind):
    """The payloads of every chunk of kind (b"IDAT", ...) of a PNG."""
    out, i = [], 8
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        if data[i + 4:i + 8] == kind:
            out.append(data[i + 8:i + 8 + length])
        i += 12 + length
    return out


def jpeg_scan(data):
    """A JPEG's bytes from its first SOS marker on (the compressed data)."""
    i = 2
    while i + 4 <= len(data) and data[i + 1] != 0xDA:
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return data[i:]


def jpeg_size(data):
    """(width, height) from a JPEG's SOF segment."""
    i = 2
    while i + 4 <= len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise ValueError("no SOF segment")


def with_declared_size(jpeg, width, height):
    """The JPEG with its SOF segment declaring width x height pixels, its
    scan data unchanged (so it ends long before that many pixels)."""
    i = 2
    while i + 4 <= len(jpeg):
        marker, length = jpeg[i + 1], struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (jpeg[:i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9:])
        i += 2 + length
    raise ValueError("no SOF segment")


def png_zero_bomb(width, height):
    """A real PNG of width x height black RGB pixels: every row's bytes
    compressed (zeros compress about 1000 to 1), so a file of a few
    hundred KB decodes to width * height * 3 bytes and more."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = bytes(1 + width * 3)  # filter byte 0, then the pixels
    rows_at_once = max(1, (4 << 20) // len(row))
    idat = b""
    for first in range(0, height, rows_at_once):
        idat += packer.compress(row * min(rows_at_once, height - first))
    idat += packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) +
            chunk(b"IEND", b""))


def png_bomb(width=100000, height=100000):
    """A tiny PNG whose header declares width x height pixels."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def padded_jpeg(size, jpeg=None):
    """A valid JPEG of at least size bytes: jpeg (by default a new 640x480
    one) with comment segments after its SOI filling the rest, as a
    camera's large maker notes would."""
    jpeg = jpeg or make_image(640, 480, "jpg")
    segment = b"\xff\xfe" + struct.pack(">H", 65535) + bytes(65533)
    return jpeg[:2] + segment * ((size - len(jpeg)) // len(segment) + 1) + jpeg[2:]


def multipart(fields=(), files=()):
    """(content type, body) for text fields [(name, value)] and files
    [(field, filename, bytes, content type)]."""
    boundary = "bp" + secrets.token_hex(12)
    body = b""
    for name, value in fields:
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
                 % (boundary, name)).encode() + value.encode() + b"\r\n"
    for field, filename, data, ctype in files:
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                 "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                 % (boundary, field, filename, ctype)).encode() + data + b"\r\n"
    body += ("--%s--\r\n" % boundary).encode()
    return "multipart/form-data; boundary=" + boundary, body
