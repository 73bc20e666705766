// POST /v1/predict: photos in (raw bytes, multipart files, or JSON base64), top-k classes out,
// from the model ?model= names (default: --default-model, or the only one). GET /v1/models lists them.
import multipart from '@fastify/multipart';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { badRequest, HttpError } from '../errors.js';

interface Options {
  context: ServiceContext;
  maxBody: number;
}

/** One photo of a request; multipart parts keep their file name. */
interface Photo {
  bytes: Uint8Array;
  filename?: string;
}

const prediction = {
  type: 'object',
  properties: { label: { type: 'string' }, index: { type: 'integer' }, probability: { type: 'number' } },
};

const schema = {
  summary: 'Top-k classes of one or more photos, from one of the models',
  tags: ['v1'],
  description:
    'Body: the raw bytes of one photo (image/jpeg, image/png, image/gif, image/bmp, image/tiff, image/webp, ' +
    'application/octet-stream), multipart/form-data with one or more files, or JSON {"image": "<base64>"}. ' +
    'Probabilities are the softmax of the logits, or the model\'s own output when its config says it gives probabilities.',
  consumes: ['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream', 'multipart/form-data', 'application/json'],
  querystring: {
    type: 'object',
    properties: {
      top: { type: 'integer', minimum: 1, maximum: 1000, default: 5, description: 'Classes per photo (at most the model\'s classes)' },
      model: { type: 'string', description: 'A model of GET /v1/models; default: --default-model, or the only model' },
    },
  },
  body: {
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['image'],
          properties: { image: { type: 'string', description: 'The encoded photo, base64' } },
        },
      },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
        results: {
          type: 'array',
          items: {
            type: 'object',
            properties: { filename: { type: 'string' }, predictions: { type: 'array', items: prediction } },
          },
        },
        timings: {
          type: 'object',
          description: 'Milliseconds; for several photos the slowest of each',
          properties: {
            decode_ms: { type: 'number' },
            queue_ms: { type: 'number' },
            inference_ms: { type: 'number' },
            batch_size: { type: 'integer', description: 'Images in the (largest) forward this request ran in' },
            total_ms: { type: 'number' },
          },
        },
      },
    },
  },
} as const;

export async function v1Routes(app: FastifyInstance, { context, maxBody }: Options): Promise<void> {
  // Raw photo bodies arrive as Buffers; anything else without a parser is a 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^(image\/|application\/octet-stream)/, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const maxFiles = context.maxQueue;
  await app.register(multipart, { limits: { fileSize: maxBody, files: maxFiles } });

  // The schema alone lets ajv coerce {"image": 5} into the string "5"; a photo is never a number.
  const preValidation = async ({ body }: FastifyRequest) => {
    if (typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && 'image' in body && typeof body.image !== 'string') {
      throw badRequest('body/image must be a string: the photo in base64');
    }
  };

  app.post<{ Querystring: { top: number; model?: string } }>('/v1/predict', { schema, preValidation }, async (request, reply) => {
    // The model first: an unknown one is a 404 before any photo is decoded.
    const model = context.model(request.query.model);
    request.modelName = model.name;
    const photos = await readPhotos(request, maxBody, maxFiles);
    const { logits, timings } = await model.engine.classify(photos.map((p) => p.bytes));
    const { labels, config } = model.classifier;
    const results = photos.map(({ filename }, i) => ({
      filename,
      predictions: labels.topK(logits[i], request.query.top, config.output),
    }));
    return { model: { name: model.name, version: model.version }, results, timings: { ...timings, total_ms: Math.round(reply.elapsedTime * 100) / 100 } };
  });

  app.get('/v1/models', { schema: modelsSchema }, async () => ({
    default: context.defaultModel ?? null,
    models: context.models.index().map(({ name, version, state, reason }) => {
      const loaded = context.models.loaded(name);
      if (!loaded) return { name, ready: false, state, reason };
      const { backend, labels, config } = loaded.classifier;
      const [height, width] = config.preprocessing.inputSize;
      return {
        name, version, ready: state === 'READY', state, reason,
        backend: backend.name, classes: labels.size, input_size: [height, width], output: config.output,
      };
    }),
  }));
}

const modelsSchema = {
  summary: 'The models this server knows, ready or not, and the default one',
  tags: ['v1'],
  response: {
    200: {
      type: 'object',
      properties: {
        default: { type: ['string', 'null'], description: 'The model of a predict request that names none' },
        models: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              version: { type: 'string' },
              ready: { type: 'boolean' },
              state: { type: 'string', enum: ['READY', 'UNAVAILABLE', 'LOADING', 'UNLOADING'] },
              reason: { type: 'string', description: 'Why it is not ready' },
              backend: { type: 'string' },
              classes: { type: 'integer' },
              input_size: { type: 'array', items: { type: 'integer' }, description: '[height, width]' },
              output: { type: 'string', enum: ['logits', 'probabilities'] },
            },
          },
        },
      },
    },
  },
} as const;

async function readPhotos(request: FastifyRequest, maxBody: number, maxFiles: number): Promise<Photo[]> {
  if (request.isMultipart()) {
    const photos: Photo[] = [];
    let total = 0;
    try {
      for await (const part of request.files()) {
        const bytes = await part.toBuffer();
        total += bytes.length;
        if (total > maxBody) throw new HttpError(413, `the files add up to more than the ${maxBody}-byte limit`);
        photos.push({ bytes, filename: part.filename });
      }
    } catch (err) {
      throw formError(err as FastifyError, maxBody, maxFiles);
    }
    if (photos.length === 0) throw badRequest('the form has no file: send the photo as a file field');
    return photos;
  }
  const body = request.body;
  if (body == null) throw badRequest('the body is empty: send a photo');
  if (Buffer.isBuffer(body)) return [{ bytes: body }];
  // JSON, already checked against the schema.
  return [{ bytes: Buffer.from((body as { image: string }).image, 'base64') }];
}

/** multipart's errors with the limit they hit; busboy's parse errors (no status) are the client's: 400. */
function formError(err: FastifyError, maxBody: number, maxFiles: number): Error {
  if (err.code === 'FST_FILES_LIMIT') return new HttpError(413, `too many files in the form: at most ${maxFiles} (--max-queue)`);
  if (err.code === 'FST_REQ_FILE_TOO_LARGE') return new HttpError(413, `a file is larger than the ${maxBody}-byte limit`);
  if (err.statusCode === undefined) return badRequest(`malformed multipart/form-data: ${err.message}`);
  return err;
}
