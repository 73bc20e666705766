// Open Inference Protocol v2 (KServe / Triton REST), with Triton's classification and
// binary-data extensions, for each model by name. Inputs: "input" FP32 [N, 3, H, W]
// (preprocessed, H × W from the model's config) or "image" BYTES [N] (encoded photos); outputs:
// "logits" and "probabilities" FP32 [N, classes] ("probabilities" only, for a model that gives them).
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packagePath } from '../../paths.js';
import type { Tensor } from '../../tensor.js';
import { probabilitiesOf } from '../../labels.js';
import { ModelNotFoundError } from '../../model/repository.js';
import type { ServedModel, ServiceContext } from '../context.js';
import { badRequest, HttpError } from '../errors.js';
import {
  binaryInputs, elementCount, encodeResponse, HEADER_LENGTH, type InferInput, type InferOutput, type InferRequest,
  parseInferBody, readBytesElements, type RequestedOutput, writeBytesElements,
} from '../v2-protocol.js';

type OutputName = 'logits' | 'probabilities';

/** Triton's platform names, for clients that show or check them. */
const PLATFORMS: Record<string, string> = { torchscript: 'pytorch_libtorch', onnx: 'onnxruntime_onnx' };

const VERSION: string = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).version;

interface ModelParams {
  model: string;
  version?: string;
}

const tags = ['v2'];
const modelParams = {
  type: 'object',
  properties: { model: { type: 'string' }, version: { type: 'string' } },
  required: ['model'],
} as const;
const tensorSpec = {
  type: 'object',
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
} as const;
const inferSchema = {
  summary: 'Run the model (KServe/Triton v2), with the classification and binary-data extensions',
  description:
    'One input: "input" FP32 [N, 3, H, W] (normalised RGB, NCHW, H × W as the model metadata says) or "image" BYTES [N] ' +
    '(encoded photos, base64 in JSON). Outputs "logits" and/or "probabilities" (a model that gives probabilities has only those); ' +
    'parameters.classification = K gives "score:index:label" strings. ' +
    `Binary-data extension: send the JSON header, then raw input bytes, with the ${HEADER_LENGTH} header.`,
  tags,
  params: modelParams,
  // One schema for every Content-Type (fastify checks a per-type schema only for its own type, and
  // tritonclient sends none), so a malformed request is a 400 before the handler sees it.
  consumes: ['application/json', 'application/octet-stream'],
  body: {
    description: `The request as JSON; with binary data, this JSON is the first ${HEADER_LENGTH} bytes and the input data follows`,
    type: 'object',
    required: ['inputs'],
    properties: {
      id: { type: 'string' },
      parameters: { type: 'object' },
      inputs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'shape', 'datatype'],
          properties: { ...tensorSpec.properties, parameters: { type: 'object' }, data: { type: 'array' } },
        },
      },
      outputs: {
        type: 'array',
        items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, parameters: { type: 'object' } } },
      },
    },
  },
} as const;

/** What a model takes and gives, read from the model itself: its input size, output width and kind. */
function metadataOf(model: ServedModel) {
  const { backend, labels, config } = model.classifier;
  return {
    name: model.name,
    versions: [model.version],
    platform: PLATFORMS[backend.name] ?? backend.name,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [-1, ...backend.inputShape] },
      { name: 'image', datatype: 'BYTES', shape: [-1] },
    ],
    outputs: outputsOf(config.output).map((name) => ({ name, datatype: 'FP32', shape: [-1, labels.size] })),
  };
}

/** A model that gives probabilities has no logits to offer. */
const outputsOf = (kind: OutputName): OutputName[] => (kind === 'logits' ? ['logits', 'probabilities'] : ['probabilities']);

export async function v2Routes(app: FastifyInstance, { context }: { context: ServiceContext }): Promise<void> {

  // tritonclient sends binary-data requests with no Content-Type at all: take every body as v2.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseInferBody(body as Buffer, request.headers[HEADER_LENGTH] as string | undefined));
    } catch (err) {
      done(err as Error);
    }
  });

  /** The route's model; an unknown name or version is a 404, a model that does not serve a 503. */
  const modelOf = ({ model: name, version }: ModelParams, request: FastifyRequest): ServedModel => {
    const model = context.models.get(name);
    if (version !== undefined && version !== model.version) {
      throw new HttpError(404, `unknown version '${version}' of model '${name}' (this server has '${model.version}')`);
    }
    request.modelName = model.name;
    return model;
  };

  app.get('/v2/health/live', { schema: { tags, summary: 'The process is up' } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { tags, summary: 'A model loaded and warmed up (each model: /v2/models/{name}/ready), not shutting down' } }, async (_req, reply) =>
    readiness(reply, context.isReady()),
  );

  app.get('/v2', { schema: { tags, summary: 'Server metadata' } }, async () => ({
    name: 'pytorch-infer',
    version: VERSION,
    extensions: ['classification', 'binary_tensor_data'],
  }));

  for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get<{ Params: ModelParams }>(prefix, { schema: { tags, summary: 'Model metadata: its real input and output shapes', params: modelParams } }, async (request) =>
      metadataOf(modelOf(request.params, request)),
    );

    app.get<{ Params: ModelParams }>(`${prefix}/ready`, { schema: { tags, summary: 'Model readiness', params: modelParams } }, async (request, reply) => {
      const { model: name } = request.params;
      // Known but not serving (broken, loading, unloaded): not ready, with the reason; unknown: 404.
      const entry = context.models.index().find((e) => e.name === name);
      if (!entry) throw new ModelNotFoundError(name, context.models.names);
      if (entry.state !== 'READY') return reply.code(503).send({ name, ready: false, reason: entry.reason || entry.state.toLowerCase() });
      modelOf(request.params, request);
      return readiness(reply, context.isReady(), name);
    });

    app.post<{ Params: ModelParams; Body: InferRequest }>(`${prefix}/infer`, { schema: inferSchema }, async (request, reply) => {
      const model = modelOf(request.params, request);
      const { engine } = model;
      const metadata = metadataOf(model);
      const inputNames = metadata.inputs.map((i) => `'${i.name}' (${i.datatype})`).join(' or ');
      const body = request.body;
      if (body.inputs.length !== 1) {
        throw badRequest(`expected exactly one input, "input" (FP32) or "image" (BYTES), got ${body.inputs.length}`);
      }
      const [input] = body.inputs;
      // By the names the metadata gives, as tritonclient and KServe clients send them.
      const spec = metadata.inputs.find((i) => i.name === input.name);
      if (!spec) throw badRequest(`unknown input '${input.name}'; this model takes ${inputNames}`);
      if (input.datatype !== spec.datatype) throw badRequest(`input '${input.name}' has datatype ${input.datatype}; expected ${spec.datatype}`);
      const [raw] = binaryInputs(body);
      const result = spec.datatype === 'FP32' ? await engine.forward(tensorRows(input, raw, engine.classifier.backend.inputShape)) : await engine.classify(images(input, raw));

      const binaries: Buffer[] = [];
      const outputs = (body.outputs ?? outputsOf(model.classifier.config.output).map((name) => ({ name }))).map((requested) => {
        const { header, binary } = output(model, requested, result.logits, body.parameters?.binary_data_output ?? false);
        if (binary) binaries.push(binary);
        return header;
      });
      const { decode_ms, queue_ms, inference_ms, batch_size } = result.timings;
      const { body: payload, headerLength } = encodeResponse(
        {
          model_name: model.name,
          model_version: model.version,
          ...(body.id === undefined ? {} : { id: body.id }),
          parameters: { decode_ms, queue_ms, inference_ms, batch_size },
          outputs,
        },
        binaries,
      );
      if (headerLength === undefined) return reply.type('application/json').send(payload);
      return reply.header('Inference-Header-Content-Length', headerLength).type('application/octet-stream').send(payload);
    });
  }

  /** One requested output: FP32 values, or "score:index:label" strings with classification. */
  function output(model: ServedModel, requested: RequestedOutput, logits: Float32Array[], binaryDefault: boolean): { header: InferOutput; binary?: Buffer } {
    const { labels, config } = model.classifier;
    const name = requested.name as OutputName;
    const offered = outputsOf(config.output);
    if (!offered.includes(name)) throw badRequest(`unknown output '${requested.name}'; model '${model.name}' has outputs ${offered.join(', ')}`);
    const k = requested.parameters?.classification;
    const binary = requested.parameters?.binary_data ?? binaryDefault;
    const rows = name === 'logits' ? logits : logits.map((row) => Float32Array.from(probabilitiesOf(row, config.output)));
    if (k !== undefined) {
      if (!(Number.isInteger(k) && k >= 1)) throw badRequest(`output '${name}': classification must be a positive integer, got ${k}`);
      const strings = logits.flatMap((row, r) =>
        labels.topK(row, k).map((p) => `${rows[r][p.index].toFixed(6)}:${p.index}:${p.label}`),
      );
      const shape = [logits.length, strings.length / logits.length];
      return binary
        ? withBinary({ name, datatype: 'BYTES', shape }, writeBytesElements(strings))
        : { header: { name, datatype: 'BYTES', shape, data: strings } };
    }
    const shape = [rows.length, labels.size];
    if (!binary) return { header: { name, datatype: 'FP32', shape, data: rows.flatMap((row) => Array.from(row)) } };
    return withBinary({ name, datatype: 'FP32', shape }, Buffer.concat(rows.map((row) => Buffer.from(row.buffer, row.byteOffset, row.byteLength))));
  }
}

function withBinary(header: InferOutput, binary: Buffer): { header: InferOutput; binary: Buffer } {
  return { header: { ...header, parameters: { binary_data_size: binary.length } }, binary };
}

function readiness(reply: FastifyReply, ready: boolean, name?: string) {
  return reply.code(ready ? 200 : 503).send({ ...(name ? { name } : {}), ready });
}

/** An FP32 input [N, ...shape] as rows, from JSON data or raw little-endian floats. */
function tensorRows(input: InferInput, raw: Buffer | undefined, shape: readonly number[]): Tensor[] {
  const [n, ...rest] = input.shape ?? [];
  if (input.shape?.length !== 4 || rest.some((d, i) => d !== shape[i]) || !(Number.isInteger(n) && n >= 1)) {
    throw badRequest(`input '${input.name}' has shape [${input.shape}]; expected [N, ${shape.join(', ')}]`);
  }
  const count = elementCount(input.shape);
  let data: Float32Array;
  if (raw) {
    if (raw.length !== count * 4) throw badRequest(`input '${input.name}': ${raw.length} bytes of binary data, expected ${count * 4}`);
    // A copy: the body's bytes need not be 4-byte aligned.
    data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  } else {
    const values = flatData(input);
    if (values.length !== count) throw badRequest(`input '${input.name}': ${values.length} values for shape [${input.shape}], expected ${count}`);
    data = Float32Array.from(values, (v) => {
      if (typeof v !== 'number') throw badRequest(`input '${input.name}': FP32 data must be numbers, found ${JSON.stringify(v)}`);
      return v;
    });
  }
  const size = count / n;
  return Array.from({ length: n }, (_, i) => ({ data: data.subarray(i * size, (i + 1) * size), shape: [1, ...shape] }));
}

/** A BYTES input of encoded photos: length-prefixed binary, or base64 strings in JSON. */
function images(input: InferInput, raw: Buffer | undefined): Buffer[] {
  const photos = raw
    ? readBytesElements(raw)
    : flatData(input).map((v) => {
        // KServe v1 wraps base64 as {"b64": "..."}; v2 clients send the string itself.
        const text = typeof v === 'object' && v !== null && 'b64' in v ? (v as { b64: unknown }).b64 : v;
        if (typeof text !== 'string') throw badRequest(`input '${input.name}': BYTES data must be base64 strings`);
        return Buffer.from(text, 'base64');
      });
  const count = elementCount(input.shape ?? []);
  if (photos.length === 0 || photos.length !== count) {
    throw badRequest(`input '${input.name}' has shape [${input.shape}] but holds ${photos.length} images`);
  }
  return photos;
}

function flatData(input: InferInput): unknown[] {
  if (!Array.isArray(input.data)) throw badRequest(`input '${input.name}' has neither data nor binary_data_size`);
  return input.data.flat(Infinity);
}

