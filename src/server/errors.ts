// Every failure leaves as {"error": "..."} with the status that says whose fault it is.
import type { FastifyError, FastifyInstance } from 'fastify';
import { ImageError } from '../image/errors.js';
import { DecodeWorkerError } from '../engine/decode-pool.js';
import { OverloadedError, TooManyImagesError } from '../engine/engine.js';
import { ModelControlError, ModelNotFoundError, ModelNotReadyError } from '../model/repository.js';

/** A client mistake the route detected itself (bad shape, unknown model, no file…). */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, message);

/** Seconds a client is asked to wait after a 503. */
const RETRY_AFTER = '1';

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ImageError) return reply.code(err.code === 'DECODE_TOO_COSTLY' ? 422 : 400).send({ error: err.message, code: err.code });
    if (err instanceof OverloadedError || err instanceof DecodeWorkerError) return reply.code(503).header('retry-after', RETRY_AFTER).send({ error: err.message });
    if (err instanceof TooManyImagesError) return reply.code(413).send({ error: err.message });
    if (err instanceof ModelNotFoundError) return reply.code(404).send({ error: err.message, models: err.known });
    // Not ready is not overload: a broken folder stays so until fixed, so no Retry-After.
    if (err instanceof ModelNotReadyError) return reply.code(503).send({ error: err.message });
    if (err instanceof ModelControlError) return reply.code(err.statusCode).send({ error: err.message });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: `the body is larger than the ${request.routeOptions.bodyLimit}-byte limit` });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const type = request.headers['content-type'];
      const what = type === undefined ? 'no Content-Type' : `unsupported Content-Type '${type}'`;
      return reply.code(415).send({ error: `${what}: send a photo as image/*, application/octet-stream, multipart/form-data or JSON {"image": "<base64>"}` });
    }
    // Ours, fastify's (validation 400) and multipart's.
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: err.message });
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}` }));
}
