"""The Python/PIL reference pipeline (torchvision's ImageNet evaluation transform) and its fixtures.

    python reference.py [--model model/traced_model.pt] [--top 3] photo...   top-k per photo, like the CLI
    python reference.py [--model M] --photos DIR                             top-1/top-5 accuracy on DIR
    python reference.py --write-fixtures                                     test/fixtures/reference/

--model takes a TorchScript file (.pt, float or int8) or an ONNX file (.onnx, run by onnxruntime).
Labels of --photos come from the file names: the synset prefix (n01530575_brambling.JPEG) and its
position in imagenet-synsets.txt.

Preprocessing, step by step (what `torchvision.transforms` does on a PIL image, plus EXIF):
  1. PIL.Image.open; ImageOps.exif_transpose (EXIF Orientation applied); .convert('RGB')
     (multi-frame files: the first frame; RGBA: alpha dropped, no compositing; I;16: values clipped
     to 0..255; CMYK: PIL's naive inversion, no ICC).
  2. Resize(256) with Image.BILINEAR (Pillow's antialiased bilinear, support scaled by the
     downscale factor): w <= h -> (256, int(256 * h / w)), else (int(256 * w / h), 256), the division
     in float64 and truncated — torchvision's _compute_resized_output_size.
  3. CenterCrop(224): top = int(round((H - 224) / 2.0)), left = int(round((W - 224) / 2.0)), Python's
     round (half to even: 58.5 -> 58, 77.5 -> 78); H, W >= 256 here, so no padding.
  4. ToTensor + Normalize in float32: (x / 255 - mean) / std, mean [0.485, 0.456, 0.406],
     std [0.229, 0.224, 0.225]; CHW, batch axis added: [1, 3, 224, 224] NCHW float32.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import time
import zlib

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, 'model')
FIXTURES = os.path.join(ROOT, 'test', 'fixtures')
PHOTOS = os.path.join(FIXTURES, 'imagenet-sample-100')

RESIZE = 256
CROP = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

RECIPE = (
    'PIL.Image.open -> ImageOps.exif_transpose -> .convert("RGB") (first frame; RGBA drops alpha without '
    'compositing; I;16 clips to 0..255; CMYK by PIL\'s naive inversion) -> resize shorter side to 256 with '
    'Image.BILINEAR (Pillow antialiased bilinear), long side int(256 * long / short) (torchvision '
    '_compute_resized_output_size) -> center crop 224 at top = int(round((H - 224) / 2.0)), '
    'left = int(round((W - 224) / 2.0)) (Python round, half to even) -> float32 (x / 255 - mean) / std, '
    'mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225] -> [1, 3, 224, 224] NCHW float32 RGB'
)


# ---------------------------------------------------------------- preprocessing

def load_rgb(source) -> Image.Image:
    """A path or file object as an upright RGB image (first frame), the way the reference reads photos."""
    with Image.open(source) as im:
        im = ImageOps.exif_transpose(im)  # a copy, EXIF Orientation applied (and the tag removed)
        return im.convert('RGB')


def resized_size(width: int, height: int, size: int = RESIZE) -> tuple[int, int]:
    """torchvision.transforms.functional._compute_resized_output_size for an int size, as (w, h)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def crop_box(width: int, height: int, size: int = CROP) -> tuple[int, int, int, int]:
    """torchvision.transforms.functional.center_crop's box (left, top, right, bottom); needs w, h >= size."""
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return left, top, left + size, top + size


def to_tensor(img: Image.Image) -> torch.Tensor:
    """ToTensor() + Normalize(MEAN, STD) exactly as torchvision computes them: [3, H, W] float32."""
    x = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
    x = x.to(torch.float32).div(255)
    mean = torch.as_tensor(MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(STD, dtype=torch.float32).view(-1, 1, 1)
    return x.sub_(mean).div_(std)


def preprocess_image(img: Image.Image) -> torch.Tensor:
    """An RGB image as the [3, 224, 224] model input."""
    img = img.resize(resized_size(*img.size), Image.BILINEAR)
    return to_tensor(img.crop(crop_box(*img.size)))


def preprocess(source) -> torch.Tensor:
    return preprocess_image(load_rgb(source))


# ---------------------------------------------------------------- models and labels

class Model:
    """TorchScript (float or int8) or ONNX; run(x [N,3,224,224]) -> logits [N, 1000] float32 tensor."""

    def __init__(self, path: str):
        self.path = path
        self.kind = 'onnx' if path.endswith('.onnx') else 'torchscript'
        if not os.path.isfile(path):
            raise SystemExit(f'model file not found: {path}')
        if self.kind == 'onnx':
            import onnxruntime as ort
            self.session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        else:
            self.module = torch.jit.load(path, map_location='cpu').eval()

    def run(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == 'onnx':
            (out,) = self.session.run(None, {self.session.get_inputs()[0].name: x.numpy()})
            return torch.from_numpy(out)
        with torch.inference_mode():
            return self.module(x).float()


def read_lines(path: str) -> list[str]:
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def true_index(file_name: str, synsets: list[str]) -> int:
    synset = os.path.basename(file_name).split('_')[0]
    if synset not in synsets:
        raise ValueError(f'no ImageNet synset in file name {file_name}')
    return synsets.index(synset)


def list_photos(directory: str) -> list[str]:
    exts = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.tif', '.tiff', '.webp')
    return sorted(f for f in os.listdir(directory) if f.lower().endswith(exts))


def topk(logits: torch.Tensor, k: int) -> tuple[list[int], list[float]]:
    probs = torch.softmax(logits.double(), dim=-1)
    p, i = probs.topk(k)
    return [int(v) for v in i], [float(v) for v in p]


# ---------------------------------------------------------------- CLI modes

def predict(model: Model, labels: list[str], photos: list[str], k: int) -> int:
    failed = 0
    for file in photos:
        try:
            logits = model.run(preprocess(file).unsqueeze(0))[0]
        except Exception as e:  # noqa: BLE001 — report and go on, like the CLI
            print(f'{file}: error: {e}', file=sys.stderr)
            failed += 1
            continue
        idx, probs = topk(logits, k)
        width = max(len(labels[i]) for i in idx)
        print(file)
        for i, p in zip(idx, probs):
            print(f'  {labels[i].ljust(width)}  {p * 100:5.1f}%')
    return 1 if failed else 0


def accuracy(model: Model, directory: str, synsets: list[str]) -> None:
    files = list_photos(directory)
    top1 = top5 = 0
    t_pre = t_run = 0.0
    for name in files:
        t0 = time.perf_counter()
        x = preprocess(os.path.join(directory, name)).unsqueeze(0)
        t1 = time.perf_counter()
        logits = model.run(x)[0]
        t2 = time.perf_counter()
        t_pre += t1 - t0
        t_run += t2 - t1
        idx, _ = topk(logits, 5)
        label = true_index(name, synsets)
        top1 += idx[0] == label
        top5 += label in idx
    n = len(files)
    print(f'{model.path}: top-1 {100 * top1 / n:.1f}% ({top1}/{n})  top-5 {100 * top5 / n:.1f}% ({top5}/{n})  '
          f'decode+preprocess {1000 * t_pre / n:.1f} ms/photo, forward {1000 * t_run / n:.1f} ms/photo '
          f'(batch 1, {torch.get_num_threads()} threads)')


# ---------------------------------------------------------------- fixtures

# Photos whose exact input tensors are committed: portrait and landscape, square, small (upscaled),
# large (downscaled 3-4x), greyscale JPEG, 4:4:4 and 4:2:0 chroma, extreme aspect ratio, and crops
# where round-half-to-even goes down (58.5 -> 58) and up (77.5 -> 78, 95.5 -> 96).
TENSOR_PHOTOS = [
    'n01530575_brambling.JPEG',         # 500x376 landscape, 4:4:4 -> 340x256, crop left 58
    'n01641577_bullfrog.JPEG',          # 500x308 -> 415x256, crop left round(95.5) = 96
    'n02493509_titi.JPEG',              # 240x162 small, upscaled -> 379x256, crop left round(77.5) = 78
    'n03825788_nipple.JPEG',            # 106x150 small portrait, 4:2:0, upscaled 2.4x -> 256x362
    'n03908714_pencil_sharpener.JPEG',  # 333x500 greyscale (mode L) portrait
    'n03759954_microphone.JPEG',        # 702x1094 large portrait, downscaled 2.7x -> 256x398
    'n04367480_swab.JPEG',              # 496x280 wide, 4:2:0 -> 453x256, crop left round(114.5) = 114
    'n02095889_Sealyham_terrier.JPEG',  # 170x170 square, 4:2:0 -> 256x256, crop 16
]
# The photo the format fixtures are made from (downscaled to 320 px on the long side first).
FORMAT_SOURCE = 'n01820546_lorikeet.JPEG'
FORMAT_LONG_SIDE = 320


def write_f32(path: str, t: torch.Tensor) -> None:
    a = t.detach().contiguous().numpy().astype('<f4', copy=False)
    with open(path, 'wb') as f:
        f.write(a.tobytes())


def sha256_file(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def png_rgb16(path: str, rgb16: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG (colour type 2, depth 16), which PIL cannot write itself."""
    h, w, _ = rgb16.shape
    raw = b''.join(b'\x00' + rgb16[y].astype('>u2').tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def make_formats(source: str, out_dir: str) -> list[dict]:
    """Write one photo in many modes and containers; return manifest entries (without tensors)."""
    os.makedirs(out_dir, exist_ok=True)
    with Image.open(source) as im:
        base = im.convert('RGB')
    scale = FORMAT_LONG_SIDE / max(base.size)
    base = base.resize((round(base.width * scale), round(base.height * scale)), Image.LANCZOS)
    w, h = base.size
    rng = np.random.default_rng(0)
    entries = []

    def add(file, note, **save):
        entries.append({'file': file, 'note': note})
        return os.path.join(out_dir, file)

    base.save(add('base.png', 'the downscaled RGB source of every other file here, lossless'))
    base.convert('L').save(add('grey.jpg', '8-bit greyscale JPEG'), quality=90)

    # RGBA: a radial alpha, fully transparent in the corners, opaque in the middle. The RGB samples
    # under the alpha are the photo's own, so convert('RGB') (alpha dropped) gives base.png's pixels.
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    alpha = np.clip((1.25 - r) * 255 / 0.75, 0, 255).astype(np.uint8)
    rgba = base.copy()
    rgba.putalpha(Image.fromarray(alpha, 'L'))
    rgba.save(add('rgba.png', 'RGBA PNG with a real alpha channel (0 in the corners); PIL\'s convert("RGB") '
                              'drops alpha without compositing, so the tensor equals base.png\'s'))

    base.quantize(256).save(add('palette.png', 'palette (P) PNG, 256 colours (median cut, Floyd-Steinberg)'))
    base.convert('CMYK').save(add('cmyk.jpg', 'CMYK JPEG (Adobe APP14, inverted as Photoshop writes it); '
                                              'PIL converts back by naive inversion'), quality=90)

    grey16 = np.asarray(base.convert('L'), np.uint16) * 257
    Image.fromarray(grey16).save(add('grey16.png', '16-bit greyscale PNG (values v * 257), opened as I;16; PIL\'s '
                                                   'convert("RGB") clips to 255 instead of scaling, so every '
                                                   'non-black pixel becomes white'))

    rgb16 = np.asarray(base, np.uint16) * 256 + rng.integers(0, 256, (h, w, 3), dtype=np.uint16)
    png_rgb16(add('rgb16.png', '16-bit RGB PNG (high byte = the photo, random low byte); PIL keeps the high '
                               'byte (opened as RGB)'), rgb16)

    base.save(add('rgb24.bmp', '24-bit BMP'))

    frame0 = base.quantize(256)
    frame1 = ImageOps.invert(base).transpose(Image.Transpose.FLIP_LEFT_RIGHT).quantize(256)
    frame0.save(add('animated.gif', 'animated GIF, 2 frames (the 2nd inverted and mirrored); the reference uses '
                                    'the 1st frame'),
                save_all=True, append_images=[frame1], duration=500, loop=0)

    base.save(add('rgb.tif', 'uncompressed RGB TIFF'))

    # EXIF Orientation 6 ("rotate 90 CW to view"): store the pixels turned 90 CCW, so that
    # exif_transpose (ROTATE_270) turns them upright again.
    exif = Image.Exif()
    exif[0x0112] = 6
    base.transpose(Image.Transpose.ROTATE_90).save(
        add('exif-orientation-6.jpg', 'JPEG stored rotated (h x w pixels) with EXIF Orientation 6; upright after '
                                      'exif_transpose'), quality=90, exif=exif.tobytes())
    return entries


def write_fixtures(args) -> None:
    out = args.out
    tensors_dir = os.path.join(out, 'tensors')
    formats_dir = os.path.join(out, 'formats')
    for d in (tensors_dir, formats_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    synsets = read_lines(os.path.join(args.photos_dir, 'imagenet-synsets.txt'))
    labels = read_lines(args.labels)
    float_model = Model(args.model)
    int8_model = Model(args.int8)
    onnx_model = Model(args.onnx)
    torch.backends.quantized.engine = args.engine

    files = list_photos(args.photos_dir)
    photos, float_logits = [], []
    hits = {'float': [0, 0], 'int8': [0, 0], 'onnx': [0, 0]}
    for name in files:
        path = os.path.join(args.photos_dir, name)
        with Image.open(path) as im:
            mode, size, fmt = im.mode, im.size, im.format
        x = preprocess(path)
        label = true_index(name, synsets)
        entry = {'file': name, 'label': label, 'synset': synsets[label], 'name': labels[label],
                 'format': fmt, 'mode': mode, 'size': list(size),
                 'resized': list(resized_size(*size)), 'crop': list(crop_box(*resized_size(*size))[:2])}
        for key, model in (('float', float_model), ('int8', int8_model), ('onnx', onnx_model)):
            logits = model.run(x.unsqueeze(0))[0]
            if key == 'float':
                float_logits.append(logits)
            idx, probs = topk(logits, 5)
            entry[key] = {'top5': idx, 'probabilities': [round(p, 7) for p in probs]}
            hits[key][0] += idx[0] == label
            hits[key][1] += label in idx
        if name in TENSOR_PHOTOS:
            entry['tensor'] = f'tensors/{os.path.splitext(name)[0]}.f32'
            write_f32(os.path.join(out, entry['tensor']), x)
        photos.append(entry)
    missing = set(TENSOR_PHOTOS) - set(files)
    if missing:
        raise SystemExit(f'photos for tensors not found: {sorted(missing)}')

    logits = torch.stack(float_logits)
    write_f32(os.path.join(out, 'logits-float.f32'), logits)

    # Format fixtures from one photo.
    entries = make_formats(os.path.join(args.photos_dir, FORMAT_SOURCE), formats_dir)
    for e in entries:
        path = os.path.join(formats_dir, e['file'])
        with Image.open(path) as im:
            e.update({'format': im.format, 'mode': im.mode, 'size': list(im.size),
                      'frames': getattr(im, 'n_frames', 1),
                      'exif_orientation': im.getexif().get(0x0112)})
        upright = load_rgb(path)
        x = preprocess_image(upright)
        e['upright_size'] = list(upright.size)
        e['tensor'] = f'tensors/{os.path.splitext(e["file"])[0]}.f32'
        write_f32(os.path.join(out, e['tensor']), x)
        idx, probs = topk(float_model.run(x.unsqueeze(0))[0], 5)
        e['float'] = {'top5': idx, 'probabilities': [round(p, 7) for p in probs]}
        e['sha256'] = sha256_file(path)
    manifest = {
        'source': FORMAT_SOURCE,
        'made_by': 'scripts/export/reference.py --write-fixtures (Pillow %s)' % Image.__version__,
        'how': f'{FORMAT_SOURCE} converted to RGB, resized to {FORMAT_LONG_SIDE} px on the long side with '
               'Image.LANCZOS (base.png), then saved in each mode/container below',
        'recipe': RECIPE,
        'tensor_format': 'float32 little-endian, [3, 224, 224] (C, H, W), no header',
        'files': entries,
    }
    with open(os.path.join(formats_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')

    n = len(files)
    acc = {k: {'top1': v[0] / n, 'top5': v[1] / n, 'top1_count': v[0], 'top5_count': v[1], 'photos': n}
           for k, v in hits.items()}
    reference = {
        'description': 'Reference predictions of the Python/PIL pipeline on the 100 photos of '
                       'test/fixtures/imagenet-sample-100; made by scripts/export/reference.py --write-fixtures',
        'recipe': RECIPE,
        'order': 'files sorted by name (Python sorted(), byte order); photos[i] and row i of logits-float.f32 '
                 'are files[i]',
        'label': 'true class index = position of the file-name prefix (synset) in imagenet-synsets.txt',
        'models': {
            'float': {'file': 'model/traced_model.pt', 'sha256': sha256_file(args.model)},
            'int8': {'file': 'model/mobilenet_v2_quantized_scripted.pt', 'sha256': sha256_file(args.int8),
                     'quantized_engine': args.engine},
            'onnx': {'file': 'model/mobilenet_v2.onnx', 'sha256': sha256_file(args.onnx),
                     'runtime': 'onnxruntime CPUExecutionProvider'},
        },
        'environment': {'torch': torch.__version__, 'pillow': Image.__version__, 'numpy': np.__version__,
                        'batch': 1, 'threads': torch.get_num_threads()},
        'probabilities': 'softmax over the 1000 logits (float64), rounded to 7 decimals',
        'logits': {'file': 'logits-float.f32', 'model': 'float', 'dtype': 'float32', 'endianness': 'little',
                   'shape': list(logits.shape), 'order': 'row i = files[i]'},
        'tensors': {'dir': 'tensors', 'dtype': 'float32', 'endianness': 'little', 'shape': [3, CROP, CROP],
                    'photos': TENSOR_PHOTOS, 'formats': 'formats/manifest.json'},
        'accuracy': acc,
        'files': files,
        'photos': photos,
    }
    with open(os.path.join(out, 'reference.json'), 'w') as f:
        json.dump(reference, f, indent=1)
        f.write('\n')
    for k, v in acc.items():
        print(f'{k:5s}: top-1 {100 * v["top1"]:.1f}%  top-5 {100 * v["top5"]:.1f}%  ({n} photos)')
    agree = sum(p['int8']['top5'][0] == p['float']['top5'][0] for p in photos)
    agree_onnx = sum(p['onnx']['top5'][0] == p['float']['top5'][0] for p in photos)
    print(f'top-1 agreement with float: int8 {agree}/{n}, onnx {agree_onnx}/{n}')
    print(f'wrote {out}: reference.json, logits-float.f32, {len(TENSOR_PHOTOS) + len(entries)} tensors, '
          f'{len(entries)} format files')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('files', nargs='*', help='photos to classify')
    ap.add_argument('--model', default=os.path.join(MODEL_DIR, 'traced_model.pt'),
                    help='TorchScript .pt or ONNX .onnx (default: %(default)s)')
    ap.add_argument('--labels', default=os.path.join(MODEL_DIR, 'class_names.txt'))
    ap.add_argument('--top', type=int, default=3)
    ap.add_argument('--photos', metavar='DIR', help='print top-1/top-5 accuracy on the photos in DIR')
    ap.add_argument('--synsets', help='imagenet-synsets.txt (default: DIR/imagenet-synsets.txt, else the fixtures)')
    ap.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s; 1 with --write-fixtures)')
    ap.add_argument('--engine', default='fbgemm' if 'fbgemm' in torch.backends.quantized.supported_engines else
                    'qnnpack', help='quantized engine for int8 models (default: %(default)s)')
    ap.add_argument('--write-fixtures', action='store_true', help='write test/fixtures/reference/')
    ap.add_argument('--out', default=os.path.join(FIXTURES, 'reference'))
    ap.add_argument('--photos-dir', default=PHOTOS, help='photos for --write-fixtures (default: %(default)s)')
    ap.add_argument('--int8', default=os.path.join(MODEL_DIR, 'mobilenet_v2_quantized_scripted.pt'))
    ap.add_argument('--onnx', default=os.path.join(MODEL_DIR, 'mobilenet_v2.onnx'))
    args = ap.parse_args()
    if args.write_fixtures and not args.threads:
        args.threads = 1  # logits differ in the last bits with the thread count; 1 is the reproducible choice
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = args.engine

    if args.write_fixtures:
        write_fixtures(args)
        return
    model = Model(args.model)
    if args.photos:
        synsets_path = args.synsets or os.path.join(args.photos, 'imagenet-synsets.txt')
        if not os.path.isfile(synsets_path):
            synsets_path = os.path.join(PHOTOS, 'imagenet-synsets.txt')
        accuracy(model, args.photos, read_lines(synsets_path))
        return
    if not args.files:
        ap.error('give photos to classify, --photos DIR, or --write-fixtures')
    if args.top < 1:
        ap.error('--top must be a positive integer')
    sys.exit(predict(model, read_lines(args.labels), args.files, args.top))


if __name__ == '__main__':
    main()
