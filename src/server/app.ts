// The HTTP service: fastify with the v1 and v2 routes, metrics, OpenAPI and the web page,
// over one model or a repository of them, each with its engine. createServer gives a
// ready-to-listen instance; close() drains it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { existsSync } from 'node:fs';
import { packagePath } from '../paths.js';
import { OverloadedError } from '../engine/engine.js';
import { type AccessOptions, installAccessControl } from './access.js';
import { installErrorHandler } from './errors.js';
import { Metrics } from './metrics.js';
import { type ModelSource, type ModelsOptions, openModels } from './models.js';
import { pageRoutes } from './routes/page.js';
import { repositoryRoutes } from './routes/repository.js';
import { v1Routes } from './routes/v1.js';
import { v2Routes } from './routes/v2.js';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, TIMEOUT_CHECK_MS } from './timeouts.js';

export interface ServerOptions extends ModelsOptions, AccessOptions {
  /** Largest request body in bytes (413 beyond). */
  maxBody: number;
  /** The service always has one: a request not answered by then gets 503, a body not received 408. */
  timeoutMs: number;
  /** A request whose headers have not all come by then gets 408; default HEADERS_TIMEOUT_MS. */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this; default KEEP_ALIVE_TIMEOUT_MS. */
  keepAliveTimeoutMs?: number;
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the service around a loaded classifier (Classifier.create has warmed the model up) or
 * the folders of a model repository, and warms the decoder workers; readiness is true from then
 * until close() starts, while any model serves. The server owns the models from here on:
 * close() closes them.
 */
export async function createServer(source: ModelSource, options: ServerOptions): Promise<FastifyInstance> {
  const metrics = new Metrics();
  let closing = false;
  const context = await openModels(source, options, metrics, () => closing);

  const app = Fastify({
    logger: options.logger ?? false,
    // The metrics count requests; a log line for each would cost throughput.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBody,
    requestTimeout: options.timeoutMs, // a client that takes longer to send its body gets 408
    keepAliveTimeout: options.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, options.timeoutMs),
      requestTimeout: options.timeoutMs, // Node checks headersTimeout ≤ requestTimeout when it creates the server
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    return503OnClosing: false, // fastify's own 503 has no Retry-After: the onRequest hook answers instead
  });
  installErrorHandler(app);
  await installAccessControl(app, options);

  app.decorateRequest('modelName', '');
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const { method, modelName: model } = request;
    metrics.requests.inc({ route, method, status: reply.statusCode, model });
    metrics.requestSeconds.observe({ route, method, model }, reply.elapsedTime / 1000);
  });
  // New requests get 503 while closing; in-flight ones finish, then the engine drains.
  app.addHook('preClose', async () => {
    closing = true;
    // server.close() also stops Node's timeout checks, so a client trickling its body would hold
    // the shutdown for ever. Every request read is answered within timeoutMs (503 past it): what is
    // still connected after that is a client too slow to serve.
    setTimeout(() => app.server.closeAllConnections(), options.timeoutMs + TIMEOUT_CHECK_MS).unref();
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new OverloadedError('shutting down: not taking new requests');
  });
  // Answers still in flight close their connection, or idle keep-alive sockets would hold the
  // shutdown for the keep-alive timeout (server.close() reaps only those idle when it is called).
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => context.models.close());

  await app.register(swagger, {
    openapi: {
      info: { title: 'pytorch-infer', description: 'Image classification on photos with TorchScript and ONNX models', version: '1' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', baseDir: bundledSwaggerUi() });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await app.register(pageRoutes);
  await app.register(v1Routes, { context, maxBody: options.maxBody });
  await app.register(v2Routes, { context });
  await app.register(repositoryRoutes, { context });
  await app.ready();
  return app;
}

/** Swagger UI's assets beside a bundle (scripts/bundle.mjs), which has no node_modules to find them in. */
function bundledSwaggerUi(): string | undefined {
  const dir = packagePath('dist', 'static');
  return existsSync(dir) ? dir : undefined;
}
