// Triton's model repository extension: POST /v2/repository/index lists every model with its
// state and, when it does not serve, why; load and unload work only with --enable-model-control,
// take a folder name of the repository and nothing else (no URL, no path, no uploaded files:
// TorchServe's management API fetching models from anywhere was a remote-code-execution hole).
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { badRequest } from '../errors.js';

const tags = ['v2'];
const params = { type: 'object', properties: { model: { type: 'string' } }, required: ['model'] } as const;

const indexSchema = {
  summary: 'Every model of the repository with its state (READY, UNAVAILABLE, LOADING, UNLOADING) and the reason it does not serve',
  tags,
  description: 'Body: optional, {"ready": true} for only the models that serve.',
  response: {
    200: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, version: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string' } },
      },
    },
  },
} as const;

const controlSchema = (action: string) => ({
  summary: `${action} a model folder of the repository by name (only with --enable-model-control)`,
  tags,
  params,
  description: 'Body: optional and empty; parameters (a config, files) are refused: a model comes only from its folder in the repository.',
});

export async function repositoryRoutes(app: FastifyInstance, { context }: { context: ServiceContext }): Promise<void> {
  // Triton's clients post these with an empty body as often as with {}.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch (err) {
      done(badRequest(`the body is not valid JSON: ${(err as Error).message}`));
    }
  });

  app.post<{ Body?: unknown }>('/v2/repository/index', { schema: indexSchema }, async (request) => {
    const ready = bodyObject(request.body).ready;
    if (ready !== undefined && typeof ready !== 'boolean') throw badRequest(`body/ready must be a boolean, got ${JSON.stringify(ready)}`);
    const index = context.models.index();
    return ready ? index.filter((e) => e.state === 'READY') : index;
  });

  app.post<{ Params: { model: string }; Body?: unknown }>(
    '/v2/repository/models/:model/load',
    { schema: controlSchema('Load or reload') },
    async (request) => {
      if (bodyObject(request.body).parameters !== undefined) {
        throw badRequest('load takes no parameters: a model is loaded only from its folder in the repository, never from a config or files sent with the request');
      }
      await context.models.load(request.params.model);
      request.modelName = request.params.model;
      return {};
    },
  );

  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', { schema: controlSchema('Unload') }, async (request) => {
    // Answers once the model's requests in flight have finished.
    await context.models.unload(request.params.model);
    request.modelName = request.params.model;
    return {};
  });
}

/** The optional JSON body as an object: none is {}, anything but an object is a 400. */
function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}
