"""A second architecture as a model folder: test/fixtures/models/resnet18-10/ and its PIL reference logits.

    python scripts/export/export_resnet18.py [--width 16] [--out test/fixtures/models/resnet18-10]

Proof that a model folder is not MobileNetV2 in disguise: torchvision's ResNet-18 architecture
(scripts/export/resnet18.py) with seeded random weights (batch-norm statistics too, so folding them
matters), a 10-class head, 160×160 input, squash resize (Resize((160, 160)), aspect ignored) with
PIL's antialiased **bicubic**, mean = std = 0.5. `--width 16` (torchvision: 64) keeps the files at
~2.8 MB each instead of ~45 MB; the layers and their order are ResNet-18's.

Writes into --out:
  model.pt     TorchScript (traced), config.json inside it as an extra file (torch.jit.save _extra_files)
  model.onnx   the same weights, opset 17, input `input` [batch, 3, 160, 160], output `logits` [batch, 10]
  config.json  the same config as a sidecar (ONNX files carry none)
  labels.txt   10 names, one a line
and beside the folder <out>.reference.json: logits of PyTorch (eager, 1 thread) on PIL-preprocessed photos
of test/fixtures/imagenet-sample-100.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402
from export_torchscript import deterministic_save, sha256  # noqa: E402
from resnet18 import ResNet18  # noqa: E402

SIZE = (160, 160)  # H, W
MEAN = STD = (0.5, 0.5, 0.5)
LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
CONFIG = {
    'version': '1',
    'output': 'logits',
    'max_batch': 8,
    'preprocessing': {
        'input_size': list(SIZE),
        'resize': list(SIZE),  # [H, W]: squash to exactly this size; the centre crop is then a no-op
        'interpolation': 'bicubic',
        'mean': list(MEAN),
        'std': list(STD),
    },
}
PHOTOS = ['n01440764_tench.JPEG', 'n01530575_brambling.JPEG', 'n02093428_American_Staffordshire_terrier.JPEG',
          'n02112137_chow.JPEG', 'n03131574_crib.JPEG', 'n03868242_oxcart.JPEG']


def preprocess(path: str) -> torch.Tensor:
    """torchvision's Resize((160, 160), BICUBIC) → CenterCrop(160) → ToTensor → Normalize(0.5, 0.5) on PIL."""
    img = R.load_rgb(path).resize((SIZE[1], SIZE[0]), Image.BICUBIC)
    x = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
    x = x.to(torch.float32).div(255)
    return x.sub_(torch.tensor(MEAN).view(-1, 1, 1)).div_(torch.tensor(STD).view(-1, 1, 1))


def seeded_model(width: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = ResNet18(num_classes=len(LABELS), width=width)
    with torch.no_grad():  # batch-norm statistics and affine terms that are not the identity
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--width', type=int, default=16, help='channels of the first stage (torchvision: 64)')
    ap.add_argument('--out', default=os.path.join(R.FIXTURES, 'models', 'resnet18-10'))
    args = ap.parse_args()
    torch.set_num_threads(1)  # logits differ in the last bits with the thread count
    model = seeded_model(args.width)
    os.makedirs(args.out, exist_ok=True)
    config = json.dumps(CONFIG, indent=1) + '\n'
    example = torch.randn(1, 3, *SIZE)

    pt = os.path.join(args.out, 'model.pt')
    with torch.no_grad():
        traced = torch.jit.trace(model, example, _store_inputs=False)
    deterministic_save(traced, pt, {'config.json': config})
    files = {'config.json': ''}
    loaded = torch.jit.load(pt, map_location='cpu', _extra_files=files).eval()
    assert files['config.json'].decode() == config, 'config.json did not survive the round trip'

    onnx_path = os.path.join(args.out, 'model.onnx')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # dynamo=False is deprecated, still supported
        torch.onnx.export(model, (example,), onnx_path, dynamo=False, export_params=True, opset_version=17,
                          do_constant_folding=True, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    session = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])

    with open(os.path.join(args.out, 'config.json'), 'w') as f:
        f.write(config)
    with open(os.path.join(args.out, 'labels.txt'), 'w') as f:
        f.write('\n'.join(LABELS) + '\n')

    photos, worst = [], {'torchscript': 0.0, 'onnx': 0.0}
    with torch.no_grad():
        for name in PHOTOS:
            x = preprocess(os.path.join(R.PHOTOS, name)).unsqueeze(0)
            logits = model(x)
            worst['torchscript'] = max(worst['torchscript'], (loaded(x) - logits).abs().max().item())
            (got,) = session.run(['logits'], {'input': x.numpy()})
            worst['onnx'] = max(worst['onnx'], float(np.abs(got - logits.numpy()).max()))
            photos.append({'file': name, 'logits': [float(v) for v in logits[0]]})
    reference = {
        'description': 'Logits of the eager PyTorch model on PIL-preprocessed photos of test/fixtures/imagenet-sample-100; '
                       'made by scripts/export/export_resnet18.py',
        'recipe': f'PIL open -> exif_transpose -> RGB -> resize to {SIZE[1]}x{SIZE[0]} (W x H) with Image.BICUBIC '
                  '-> float32 (x / 255 - 0.5) / 0.5 -> [1, 3, 160, 160]',
        'model': {'architecture': 'ResNet-18 (torchvision layout)', 'width': args.width, 'classes': len(LABELS),
                  'seed': 0, 'parameters': sum(p.numel() for p in model.parameters())},
        'sha256': {f: sha256(os.path.join(args.out, f)) for f in ('model.pt', 'model.onnx', 'config.json', 'labels.txt')},
        'environment': {'torch': torch.__version__, 'pillow': Image.__version__, 'onnxruntime': ort.__version__,
                        'threads': 1},
        'export_max_abs_delta': worst,
        'photos': photos,
    }
    with open(args.out.rstrip('/') + '.reference.json', 'w') as f:
        json.dump(reference, f, indent=1)
        f.write('\n')
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in ('model.pt', 'model.onnx')}
    print(f'{args.out}: {reference["model"]["parameters"]} parameters, {sizes}; max |Δ| vs eager on the photos: {worst}')


if __name__ == '__main__':
    main()
