// A model repository (Triton's layout, KServe's ModelRepository): one folder per model in a
// directory, served under the folder's name. The registry maps names to loaded models and keeps
// the ones that failed, with their reason, so the others serve while the index says what is
// wrong. Loading takes a name only, never a path or a URL: a name is a single folder of DIR.
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Triton's model states (repository extension). */
export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

/** One row of POST /v2/repository/index. */
export interface IndexEntry {
  name: string;
  /** Known once the model has loaded. */
  version?: string;
  state: ModelState;
  /** Why it is not ready; '' when it is. */
  reason: string;
}

/** How the registry starts and stops what it serves; the server's loader also starts an engine. */
export interface ModelLoader<T> {
  load(name: string, dir: string): Promise<T>;
  unload(model: T): Promise<void>;
  version(model: T): string;
}

export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';

  constructor(
    model: string,
    readonly known: readonly string[],
  ) {
    super(`unknown model '${model}'; this server has ${known.length ? known.map((n) => `'${n}'`).join(', ') : 'no models'}`);
  }
}

export class ModelNotReadyError extends Error {
  override readonly name = 'ModelNotReadyError';
}

/** Refused load/unload: model control is off, a bad name, or a model already changing. */
export class ModelControlError extends Error {
  override readonly name = 'ModelControlError';

  constructor(
    readonly statusCode: 400 | 403 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** Letters, digits, '.', '_' and '-', starting with a letter or digit: a URL segment and a plain folder name, never a path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function invalidName(name: string): string | undefined {
  if (NAME.test(name) && !name.includes('..')) return undefined;
  return `'${name}' is not a model name: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'`;
}

/** The model folders of `dir`, sorted: hidden entries (.git, editors' files) are not models, and files beside the folders are ignored, as Triton does. */
export async function modelFolders(dir: string): Promise<string[]> {
  const found = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the model repository ${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  return found.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

interface Entry<T> {
  state: ModelState;
  reason: string;
  model?: T;
}

export class ModelRepository<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Names a load or unload is working on (a reload keeps serving the old model, so its state stays READY). */
  readonly #changing = new Set<string>();

  /** `dir` undefined: one model given at start, nothing to load from (no model control). */
  private constructor(
    readonly dir: string | undefined,
    private readonly loader: ModelLoader<T>,
    /** Whether load/unload are allowed (--enable-model-control). */
    readonly control: boolean,
  ) {}

  /** Every model folder of `dir`, each loaded or listed with the reason it is not. */
  static async open<T>(dir: string, loader: ModelLoader<T>, control: boolean): Promise<ModelRepository<T>> {
    const repository = new ModelRepository(resolve(dir), loader, control);
    // One at a time: loads are CPU-bound, and LibTorch loads on its one inference thread anyway.
    for (const name of await modelFolders(dir)) await repository.#load(name);
    return repository;
  }

  /** A repository of one model, already loaded. */
  static single<T>(name: string, model: T, loader: ModelLoader<T>): ModelRepository<T> {
    const repository = new ModelRepository(undefined, loader, false);
    repository.#entries.set(name, { state: 'READY', reason: '', model });
    return repository;
  }

  /** Every name the repository knows, ready or not. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  /** The names of the models that serve. */
  get ready(): string[] {
    return this.names.filter((name) => this.#entries.get(name)!.state === 'READY');
  }

  /** The model serving as `name`; unknown names and models that do not serve are errors. */
  get(name: string): T {
    const entry = this.#entries.get(name);
    if (!entry) throw new ModelNotFoundError(name, this.names);
    if (entry.state !== 'READY' || !entry.model) {
      throw new ModelNotReadyError(`model '${name}' is not ready (${entry.state.toLowerCase()}${entry.reason ? `: ${entry.reason}` : ''})`);
    }
    return entry.model;
  }

  /** The loaded model of `name`, ready or not (for metadata); undefined if none. */
  loaded(name: string): T | undefined {
    return this.#entries.get(name)?.model;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  index(): IndexEntry[] {
    return [...this.#entries].map(([name, { state, reason, model }]) => ({
      name,
      ...(model === undefined ? {} : { version: this.loader.version(model) }),
      state,
      reason,
    }));
  }

  /**
   * Loads (or reloads) the folder `name` of the repository. A reload swaps in the new model once
   * it is ready and then unloads the old one, whose requests in flight finish; if the new one
   * fails, the old one keeps serving.
   */
  async load(name: string): Promise<void> {
    this.#checkControl(name);
    this.#changing.add(name);
    try {
      await this.#reload(name);
    } finally {
      this.#changing.delete(name);
    }
  }

  async #reload(name: string): Promise<void> {
    const entry = this.#entries.get(name);
    const folder = join(this.dir!, name);
    const stats = await lstat(folder).catch(() => undefined);
    if (!stats?.isDirectory()) {
      throw new ModelControlError(400, `the model repository has no folder '${name}'${stats?.isSymbolicLink() ? ' (a symbolic link is not a model folder)' : ''}`);
    }
    const old = entry?.state === 'READY' ? entry.model : undefined;
    const error = await this.#load(name, old);
    if (error) throw new ModelControlError(400, `model '${name}' did not load: ${error}`);
    if (old !== undefined) await this.loader.unload(old);
  }

  /** Stops serving `name` at once; resolves when its requests in flight have finished. */
  async unload(name: string): Promise<void> {
    this.#checkControl(name);
    const entry = this.#entries.get(name);
    if (!entry) throw new ModelNotFoundError(name, this.names);
    if (entry.state !== 'READY' || !entry.model) throw new ModelControlError(409, `model '${name}' is not loaded (${entry.state.toLowerCase()})`);
    this.#changing.add(name);
    try {
      await this.#stop(entry, 'unloaded');
    } finally {
      this.#changing.delete(name);
    }
  }

  /** Unloads every model (shutdown): each finishes its requests in flight. */
  async close(): Promise<void> {
    await Promise.all([...this.#entries.values()].filter((e) => e.model !== undefined).map((e) => this.#stop(e, 'shut down')));
  }

  async #stop(entry: Entry<T>, reason: string): Promise<void> {
    const { model } = entry;
    Object.assign(entry, { state: 'UNLOADING', reason: '' });
    try {
      if (model !== undefined) await this.loader.unload(model);
    } finally {
      Object.assign(entry, { state: 'UNAVAILABLE', reason, model: undefined });
    }
  }

  /** Loads `name` into its entry; an old model, if any, serves until the new one is ready. Returns the failure's message. */
  async #load(name: string, old?: T): Promise<string | undefined> {
    const problem = invalidName(name);
    if (problem) {
      this.#entries.set(name, { state: 'UNAVAILABLE', reason: problem });
      return problem;
    }
    const entry: Entry<T> = this.#entries.get(name) ?? { state: 'LOADING', reason: '' };
    if (old === undefined) Object.assign(entry, { state: 'LOADING', reason: '' });
    this.#entries.set(name, entry);
    try {
      const model = await this.loader.load(name, join(this.dir!, name));
      Object.assign(entry, { state: 'READY', reason: '', model });
      return undefined;
    } catch (err) {
      // Paths inside the repository as the folder and file names an operator sees in DIR.
      const reason = (err as Error).message.replaceAll(`${this.dir}/`, '');
      if (old === undefined) Object.assign(entry, { state: 'UNAVAILABLE', reason, model: undefined });
      return reason;
    }
  }

  #checkControl(name: string): void {
    if (!this.control) {
      throw new ModelControlError(403, 'model control is off: start serve with --model-repository DIR --enable-model-control to load and unload models');
    }
    const problem = invalidName(name);
    if (problem) throw new ModelControlError(400, problem);
    if (this.#changing.has(name)) throw new ModelControlError(409, `model '${name}' is being loaded or unloaded; try again when that is done`);
  }
}
