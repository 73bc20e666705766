"""The usual Python way to serve the model, as the reference for bench/http-vs-python.ts:
FastAPI + uvicorn, onnxruntime on the float weights model/mobilenet_v2.onnx, PIL + numpy for
torchvision's transform. The answer is shaped like pytorch-infer's POST /v1/predict.

    uvicorn app:app --app-dir bench/python-service --workers 2 --no-access-log

One ORT thread per worker: the workers are the parallelism (one per core), as usually deployed.
"""
import os
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException, Query, Request
from PIL import UnidentifiedImageError

from preprocess import preprocess

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get('REFERENCE_MODEL', ROOT / 'model' / 'mobilenet_v2.onnx'))
LABELS = (ROOT / 'model' / 'class_names.txt').read_text(encoding='utf-8').splitlines()

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(str(MODEL), options, providers=['CPUExecutionProvider'])
INPUT = session.get_inputs()[0].name

app = FastAPI()


# async and computing inline: each worker answers one photo at a time on its event loop thread,
# with no hop to a thread pool; uvicorn's workers spread the requests over the cores.
@app.post('/v1/predict')
async def predict(request: Request, top: int = Query(5, ge=1, le=1000)):
    start = time.perf_counter()
    body = await request.body()
    try:
        x = preprocess(body)
    except (UnidentifiedImageError, OSError) as e:
        raise HTTPException(400, f'cannot decode the photo: {e}') from e
    decoded = time.perf_counter()
    (logits,) = session.run(None, {INPUT: x[np.newaxis]})
    done = time.perf_counter()
    z = logits[0].astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    best = np.argsort(-p, kind='stable')[:top]
    predictions = [{'label': LABELS[i], 'index': int(i), 'probability': float(p[i])} for i in best]
    return {
        'model': {'name': MODEL.stem, 'version': '1'},
        'results': [{'predictions': predictions}],
        'timings': {
            'decode_ms': round((decoded - start) * 1000, 2),
            'inference_ms': round((done - decoded) * 1000, 2),
            'total_ms': round((time.perf_counter() - start) * 1000, 2),
        },
    }
