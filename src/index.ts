// Public API of pytorch-infer.
export { Classifier, type ClassifierOptions, type ImageInput } from './classifier.js';
export { type Backend, type BackendName, type BackendOptions, BACKENDS, createBackend } from './backend.js';
export { Labels, type Prediction } from './labels.js';
export { type Tensor, tensor, concat, split } from './tensor.js';
export { ImageError } from './image/errors.js';
export { type DecoderName, DEFAULT_MAX_PIXELS } from './image/types.js';
export { DEFAULT_MODEL, DEFAULT_LABELS } from './paths.js';
