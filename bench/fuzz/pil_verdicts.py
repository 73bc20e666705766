"""What PIL makes of each fuzzed input: the reference for which corrupt photos a decoder accepts.

stdin: records of a 4-byte big-endian length and that many bytes. stdout: a JSON line per record,
{"ok": true, "size": [w, h]} if PIL opens, upright-rotates and converts it to RGB as the reference
pipeline does (with PIL's defaults: truncated files are errors), else {"ok": false, "error": "..."}.
"""
import io
import json
import struct
import sys
import warnings

from PIL import Image, ImageOps

# The largest limit of ours (40 MP): PIL refuses twice MAX_IMAGE_PIXELS, and only warns below.
Image.MAX_IMAGE_PIXELS = 20_000_000
warnings.simplefilter("ignore")


def verdict(data):
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = list(img.size)
            ImageOps.exif_transpose(img).convert("RGB")
        return {"ok": True, "size": size}
    except Exception as e:  # noqa: BLE001 -- every failure is a refusal here
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:200]}


def main():
    src = sys.stdin.buffer
    out = sys.stdout
    while True:
        head = src.read(4)
        if len(head) < 4:
            return
        (length,) = struct.unpack(">I", head)
        out.write(json.dumps(verdict(src.read(length))) + "\n")
        out.flush()


main()
