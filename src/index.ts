// Public API of pytorch-infer.
export { Classifier, type ClassifierOptions, type ImageInput } from './classifier.js';
export { type Backend, type BackendName, type BackendOptions, BACKENDS, createBackend } from './backend.js';
export { Labels, type Prediction } from './labels.js';
export { DEFAULT_CONFIG, type Interpolation, type ModelConfig, type ModelOutput, parseConfig, type Preprocessing, type Resize } from './model/config.js';
export { type LoadedModel, loadModelFile, loadModelFolder } from './model/load.js';
export { type Tensor, tensor, concat, split } from './tensor.js';
export { ImageError } from './image/errors.js';
export { type DecoderName, DEFAULT_MAX_PIXELS } from './image/types.js';
export { DEFAULT_MODEL, DEFAULT_LABELS } from './paths.js';
