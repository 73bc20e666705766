// Who may call the service: with an API key, every POST (inference, and management routes as
// they come) needs `Authorization: Bearer <key>`; GETs (health, metadata, the page, the docs)
// stay open, and /metrics too unless protectMetrics. Pages of other origins may call it only
// when corsOrigins names them: without it the answers carry no CORS headers and browsers keep
// cross-origin pages out.
import cors from '@fastify/cors';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';
import { HEADER_LENGTH } from './v2-protocol.js';

export interface AccessOptions {
  /** Absent or empty: no key asked for. */
  apiKey?: string;
  /** /metrics needs the key too. */
  protectMetrics?: boolean;
  /** Origins whose pages may call the service (`*`: any); absent or empty: none but its own. */
  corsOrigins?: readonly string[];
}

export async function installAccessControl(app: FastifyInstance, { apiKey, protectMetrics = false, corsOrigins = [] }: AccessOptions): Promise<void> {
  // First, so that a 401 carries the CORS headers too and the calling page can read it.
  if (corsOrigins.length > 0) {
    await app.register(cors, {
      origin: corsOrigins.includes('*') ? '*' : [...corsOrigins],
      methods: ['GET', 'POST'],
      // Named, not reflected: a preflight for any other header is refused.
      allowedHeaders: ['Content-Type', 'Authorization', HEADER_LENGTH],
      exposedHeaders: [HEADER_LENGTH, 'Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    });
  }
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

/**
 * --cors-origin's values, each given alone or comma-separated: every one an origin as a browser
 * sends it (scheme://host[:port], no path), or `*`.
 */
export function parseCorsOrigins(values: readonly string[]): string[] {
  const origins = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || parsed.origin !== origin) {
      throw new Error(`--cors-origin ${origin} is not an origin: give scheme://host[:port] as the browser sends it (e.g. https://app.example.com, no path or trailing slash), or *`);
    }
  }
  return origins;
}
