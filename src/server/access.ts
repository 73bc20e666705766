// Who may call the service: with an API key, every POST (inference, and management routes as
// they come) needs `Authorization: Bearer <key>`; GETs (health, metadata, the page, the docs)
// stay open, and /metrics too unless protectMetrics.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

export interface AccessOptions {
  /** Absent or empty: no key asked for. */
  apiKey?: string;
  /** /metrics needs the key too. */
  protectMetrics?: boolean;
}

export function installAccessControl(app: FastifyInstance, { apiKey, protectMetrics = false }: AccessOptions): void {
  if (!apiKey) return;
  // Digests of equal length, compared in constant time: neither the key's bytes nor its length leak.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = digest(apiKey);
  const needsKey = (request: FastifyRequest) => request.method === 'POST' || (protectMetrics && request.url.split('?')[0] === '/metrics');
  app.addHook('onRequest', async (request, reply) => {
    if (!needsKey(request)) return;
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return;
    reply.header('www-authenticate', 'Bearer');
    throw new HttpError(401, presented === undefined ? 'an API key is required: send Authorization: Bearer <key>' : 'the API key is not valid');
  });
}
