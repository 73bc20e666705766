// A model ready to run: a model folder (Triton-shaped: model file, labels, optional config) or a
// bare model file with a labels file, loaded into a backend and checked against its labels.
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { type Backend, type BackendName, type BackendOptions, createBackend } from '../backend.js';
import { Labels } from '../labels.js';
import { type ModelConfig, parseConfig } from './config.js';

/** What a registry of models holds for each name: the running backend, its labels and its config. */
export interface LoadedModel {
  /** The folder's name, or the model file's without its extension. */
  readonly name: string;
  readonly backend: Backend;
  readonly labels: Labels;
  readonly config: ModelConfig;
}

/** A model folder's files. */
const MODEL_FILES: Readonly<Record<BackendName, string>> = { torchscript: 'model.pt', onnx: 'model.onnx' };
const LABELS_FILE = 'labels.txt';
const CONFIG_FILE = 'config.json';

export interface FolderOptions extends Omit<BackendOptions, 'model' | 'config'> {
  /** Which model file to run; default: model.pt if the folder has one, else model.onnx. */
  backend?: BackendName;
}

/**
 * Loads `dir`: model.pt or model.onnx, labels.txt (one name a line, in output order) and an
 * optional config.json. Without config.json a TorchScript file's own config.json (an extra file
 * of torch.jit.save) applies, else the defaults.
 */
export async function loadModelFolder(dir: string, options: FolderOptions = {}): Promise<LoadedModel> {
  const present = (file: string) => isFile(join(dir, file));
  const backend = options.backend ?? (await folderBackend(dir));
  if (backend === undefined) throw new Error(`model folder ${dir} has no ${MODEL_FILES.torchscript} or ${MODEL_FILES.onnx}`);
  const model = join(dir, MODEL_FILES[backend]);
  if (!(await present(MODEL_FILES[backend]))) throw new Error(`model folder ${dir} has no ${MODEL_FILES[backend]} (for the ${backend} backend)`);
  const configPath = join(dir, CONFIG_FILE);
  const config = (await present(CONFIG_FILE)) ? parseConfig(await readFile(configPath, 'utf8'), configPath) : undefined;
  const labels = await Labels.load(join(dir, LABELS_FILE));
  return start(basename(dir), backend, labels, join(dir, LABELS_FILE), { ...options, model, config });
}

const isFile = async (path: string) => (await stat(path).catch(() => undefined))?.isFile() ?? false;

/** The model file a folder has, model.pt first; undefined if neither. */
async function folderBackend(dir: string): Promise<BackendName | undefined> {
  for (const backend of ['torchscript', 'onnx'] as const) {
    if (await isFile(join(dir, MODEL_FILES[backend]))) return backend;
  }
  return undefined;
}

/**
 * Loads a bare model file (default: the backend's under model/) with the labels in `labelsFile`;
 * a TorchScript file may carry its config.
 */
export async function loadModelFile(model: string | undefined, labelsFile: string, options: FolderOptions = {}): Promise<LoadedModel> {
  const labels = await Labels.load(labelsFile);
  return start(undefined, options.backend ?? 'torchscript', labels, labelsFile, { ...options, model });
}

/** Starts the backend and checks the labels against its output; `name` defaults to the model file's. */
async function start(name: string | undefined, kind: BackendName, labels: Labels, labelsFile: string, options: BackendOptions): Promise<LoadedModel> {
  const backend = await createBackend(kind, options);
  if (labels.size !== backend.classes) {
    await backend.close();
    throw new Error(`${labelsFile} names ${labels.size} classes, but ${backend.model} gives ${backend.classes}`);
  }
  return { name: name ?? basename(backend.model, extname(backend.model)), backend, labels, config: backend.config };
}
