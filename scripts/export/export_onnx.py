"""Export MobileNetV2 (float32, eval mode) to ONNX: model/mobilenet_v2.onnx.

    python scripts/export/export_onnx.py [--weights PATH|download] [--out model/mobilenet_v2.onnx] [--opset 17]

Input `input`: float32 [batch, 3, 224, 224] (dynamic batch), RGB, ImageNet mean/std normalised.
Output `logits`: float32 [batch, 1000]. Uses torch's classic TorchScript-based exporter
(`dynamo=False`): deterministic, one graph (Conv with BatchNorm folded in, Clip for ReLU6, Gemm).
The file is checked with onnx.checker, and onnxruntime's logits must match torch's within --atol
(1e-4) at batch 1 and 3.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilenet_v2 import add_weights_args, load_model, repo_root  # noqa: E402

OPSET = 17


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_weights_args(ap)
    ap.add_argument('--out', default=os.path.join(repo_root(), 'model', 'mobilenet_v2.onnx'))
    ap.add_argument('--opset', type=int, default=OPSET)
    ap.add_argument('--atol', type=float, default=1e-4)
    args = ap.parse_args()

    torch.manual_seed(0)
    model = load_model(args.weights, args.torchvision)
    example = torch.randn(1, 3, 224, 224)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # dynamo=False is deprecated, still supported
        torch.onnx.export(
            model, (example,), args.out,
            dynamo=False,
            export_params=True,
            opset_version=args.opset,
            do_constant_folding=True,  # eval mode: BatchNorm is folded into the preceding Conv
            input_names=['input'],
            output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
        )

    proto = onnx.load(args.out)
    onnx.checker.check_model(proto, full_check=True)
    opset = next(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx'))

    session = ort.InferenceSession(args.out, providers=['CPUExecutionProvider'])
    worst = 0.0
    with torch.no_grad():
        for x in (example, torch.randn(3, 3, 224, 224)):
            expected = model(x).numpy()
            (got,) = session.run(['logits'], {'input': x.numpy()})
            if got.shape != expected.shape:
                raise SystemExit(f'onnxruntime output shape {got.shape}, torch {expected.shape}')
            worst = max(worst, float(np.abs(got - expected).max()))
    if worst > args.atol:
        raise SystemExit(f'onnxruntime logits differ from torch by {worst:.3g} > {args.atol}')
    with open(args.out, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f'{args.out}: opset {opset}, ir_version {proto.ir_version}, dynamic batch; onnx.checker ok; '
          f'onnxruntime {ort.__version__} vs torch max |delta| {worst:.3g} (batch 1 and 3); sha256 {digest}')


if __name__ == '__main__':
    main()
