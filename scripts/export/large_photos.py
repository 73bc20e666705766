"""Phone-size photos and PIL's answers for them: test/fixtures/large/.

    python scripts/export/large_photos.py

The test photos are ~500×375, too small for a decoder to reduce; phones take 4032×3024. This
upscales 20 of them (Lanczos) to 1024…4032 pixels wide, JPEG quality 85, one of them stored
sideways with EXIF Orientation 6, and records what PIL makes of each: with `draft('RGB', (256, 256))`
(libjpeg's DCT scaling, the reduced decode pytorch-infer's sharp decoder mirrors) and with a full
decode, then the torchvision transform and the float TorchScript model.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from PIL import Image, ImageOps

import reference as R

OUT = os.path.join(R.FIXTURES, 'large')
SIZES = [(4032, 3024), (2048, 1536), (1600, 1200), (1024, 768), (1280, 960)]
TENSORS = 6  # the first photos get their PIL tensors committed (600 KB each)


def load(path: str, draft: bool) -> Image.Image:
    with Image.open(path) as im:
        if draft:
            im.draft('RGB', (R.RESIZE, R.RESIZE))
        return ImageOps.exif_transpose(im).convert('RGB')


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    synsets = R.read_lines(os.path.join(R.PHOTOS, 'imagenet-synsets.txt'))
    model = R.Model(os.path.join(R.MODEL_DIR, 'traced_model.pt'))
    entries = []
    for i, name in enumerate(R.list_photos(R.PHOTOS)[::5][:20]):
        with Image.open(os.path.join(R.PHOTOS, name)) as im:
            im = ImageOps.exif_transpose(im).convert('RGB')
        w, h = SIZES[i % len(SIZES)]
        if im.width < im.height:
            w, h = h, w
        big = im.resize((w, h), Image.LANCZOS)
        exif = None
        if i == 1:  # stored sideways: the upright photo rotated 90° counter-clockwise, tag 6 turns it back
            big = big.transpose(Image.Transpose.ROTATE_90)
            exif = Image.Exif()
            exif[0x0112] = 6
        stem = f'{os.path.splitext(name)[0]}_{big.width}x{big.height}'
        path = os.path.join(OUT, f'{stem}.jpg')
        big.save(path, quality=85, **({'exif': exif} if exif else {}))
        entry = {'file': f'{stem}.jpg', 'label': R.true_index(name, synsets), 'size': [big.width, big.height]}
        for key, draft in (('draft', True), ('full', False)):
            img = load(path, draft)
            x = R.preprocess_image(img)
            idx, probs = R.topk(model.run(x.unsqueeze(0))[0], 5)
            entry[key] = {'decoded': list(img.size), 'top5': idx, 'probabilities': [round(p, 7) for p in probs]}
            if draft and i < TENSORS:
                entry['tensor'] = f'{stem}.draft.f32'
                R.write_f32(os.path.join(OUT, entry['tensor']), x)
        entries.append(entry)
        print(entry['file'], 'draft', entry['draft']['decoded'], entry['draft']['top5'][0], 'full', entry['full']['top5'][0], 'label', entry['label'])
    hits = {k: sum(e[k]['top5'][0] == e['label'] for e in entries) for k in ('draft', 'full')}
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump({'recipe': 'PIL draft("RGB", (256, 256)) or full decode, then ' + R.RECIPE,
                   'top1': hits, 'photos': entries}, f, indent=1)
    print('top-1 correct: draft', hits['draft'], 'full', hits['full'], 'of', len(entries))


if __name__ == '__main__':
    main()
