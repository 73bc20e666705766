"""Trace MobileNetV2 (float32, eval mode) to TorchScript: model/traced_model.pt + model/class_names.txt.

    python scripts/export/export_torchscript.py [--weights PATH|download] [--out model/traced_model.pt]

The traced module takes a [N, 3, 224, 224] float32 NCHW tensor (RGB, ImageNet mean/std normalised)
and returns [N, 1000] logits. The output is checked to equal the eager model's bit for bit.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilenet_v2 import add_weights_args, load_model, repo_root  # noqa: E402

ROOT = repo_root()
CLASSES_TSV = os.path.join(ROOT, '..', 'shared', 'model', 'imagenet_classes.tsv')
# A fixed timestamp for every zip entry (the earliest a zip can store), so the file is reproducible.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SERIALIZATION_ID = '/.data/serialization_id'


def read_class_names(tsv_path: str) -> list[str]:
    with open(tsv_path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    names = [''] * len(rows)
    for row in rows:
        names[int(row['index'])] = row['short_name']
    if len(names) != 1000 or not all(names):
        raise ValueError(f'{tsv_path}: expected 1000 classes indexed 0..999')
    return names


def deterministic_save(module: torch.jit.ScriptModule, path: str, extra_files: dict[str, str] | None = None) -> None:
    """torch.jit.save, then rewrite the zip with entries in the same order and fixed timestamps.

    `.data/serialization_id` (40 digits, torch's id for the archive, partly a CRC of every record,
    debug records included) is replaced by 40 digits of the sha256 of the records kept.
    Dropped: the optional `.debug_pkl` source-range records (they hold this script's absolute path,
    so they change with the checkout location; LibTorch and torch.jit.load do not need them).
    Stored entries keep torch's 64-byte data alignment (torch.jit.load mmaps/reads tensors aligned).
    """
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files=extra_files or {})
    buf.seek(0)
    src = zipfile.ZipFile(buf)
    kept = [info for info in src.infolist() if not info.filename.endswith('.debug_pkl')]
    digest = hashlib.sha256()
    for info in kept:
        if not info.filename.endswith(SERIALIZATION_ID):
            digest.update(info.filename.encode() + b'\0' + src.read(info.filename))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_STORED) as dst:
        for info in kept:
            data = src.read(info.filename)
            if info.filename.endswith(SERIALIZATION_ID):
                data = b'%040d' % (int(digest.hexdigest(), 16) % 10**40)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_STORED
            zi.create_system = 0
            zi.external_attr = 0
            # Pad the local header's extra field so the data starts on a 64-byte boundary, like torch.
            header_len = 30 + len(info.filename.encode()) + 4  # + the extra field's own 4-byte header
            pad = -(dst.fp.tell() + header_len) % 64
            zi.extra = b'FB' + pad.to_bytes(2, 'little') + b'Z' * pad
            dst.writestr(zi, data)
    with open(path, 'wb') as f:
        f.write(out.getvalue())


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_weights_args(ap)
    ap.add_argument('--out', default=os.path.join(ROOT, 'model', 'traced_model.pt'))
    ap.add_argument('--classes', default=CLASSES_TSV, help='imagenet_classes.tsv (index, synset, short_name, ...)')
    ap.add_argument('--labels-out', default=os.path.join(ROOT, 'model', 'class_names.txt'))
    args = ap.parse_args()

    torch.manual_seed(0)
    model = load_model(args.weights, args.torchvision)
    example = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        # _store_inputs=False: do not keep the example input in the archive (traced_inputs.pkl).
        traced = torch.jit.trace(model, example, _store_inputs=False)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    deterministic_save(traced, args.out)

    # The saved file, loaded back, must give exactly the eager model's logits (batch 1 and 4).
    loaded = torch.jit.load(args.out, map_location='cpu').eval()
    with torch.no_grad():
        for x in (example, torch.randn(4, 3, 224, 224)):
            eager, scripted = model(x), loaded(x)
            delta = (eager - scripted).abs().max().item()
            if not torch.equal(eager, scripted):
                raise SystemExit(f'traced output differs from eager: max |delta| {delta}')
    print(f'{args.out}: traced, loaded back, output equal to eager (max |delta| 0); sha256 {sha256(args.out)}')

    names = read_class_names(args.classes)
    with open(args.labels_out, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(names) + '\n')
    print(f'{args.labels_out}: {len(names)} class names; sha256 {sha256(args.labels_out)}')


if __name__ == '__main__':
    main()
