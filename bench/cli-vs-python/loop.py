"""The loop a Python user would write to label a folder of photos: PIL + onnxruntime (its default
threads), the same weights as pytorch-infer, torchvision's transform (../python-service/preprocess.py,
bit-identical to torchvision). One JSON line per photo, as `pytorch-infer predict --json` prints."""
import json, os, sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'python-service'))
from preprocess import preprocess

folder, model, labels_file = sys.argv[1:4]
labels = open(labels_file).read().splitlines()
session = ort.InferenceSession(model)
for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    with open(path, 'rb') as f:
        logits = session.run(None, {'input': preprocess(f.read())[None]})[0][0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    top = np.argsort(-p)[:3]
    print(json.dumps({'file': path, 'predictions': [{'label': labels[i], 'index': int(i), 'probability': float(p[i])} for i in top]}))
