"""torchvision's ImageNet evaluation transform, in PIL + numpy (no torch in the service):

    transforms.Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(MEAN, STD)])

on the photo opened with PIL, EXIF orientation applied (as pytorch-infer does), converted to RGB.
Every step computes what torchvision computes, to the bit (test/python-service.test.ts checks it
against the committed torchvision tensors).
"""
import io

import numpy as np
from PIL import Image, ImageOps

RESIZE = 256
CROP = 224
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def resized_size(width: int, height: int) -> tuple[int, int]:
    """torchvision's _compute_resized_output_size for an int size: the shorter side becomes 256,
    the longer int(256 * long / short) (float division, truncated). As (w, h) for PIL."""
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(RESIZE * long / short)
    return (RESIZE, new_long) if width <= height else (new_long, RESIZE)


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """CenterCrop(224)'s box: int(round((side - 224) / 2.0)), Python's round (half to even). After
    Resize(256) both sides are >= 256, so torchvision's padding branch never applies."""
    left = int(round((width - CROP) / 2.0))
    top = int(round((height - CROP) / 2.0))
    return left, top, left + CROP, top + CROP


def preprocess(data: bytes) -> np.ndarray:
    """Encoded photo bytes as the [3, 224, 224] float32 model input."""
    with Image.open(io.BytesIO(data)) as im:
        img = ImageOps.exif_transpose(im).convert('RGB')
    # Resize: PIL's bilinear, antialiased when downscaling (what torchvision calls on a PIL image).
    img = img.resize(resized_size(*img.size), Image.BILINEAR)
    img = img.crop(crop_box(*img.size))
    # ToTensor + Normalize in float32, in torch's order: x / 255, then - mean, then / std.
    x = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))
