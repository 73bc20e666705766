// The service's connection timeouts: a module of their own so that \`serve --help\` shows them
// without loading fastify.

/** Headers are a few hundred bytes: a client slower than this is broken or trickling them on purpose. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Longer than the 60 s idle timeout of the usual proxies and load balancers, so they close first. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/** How often Node looks for requests past their headers or request timeout (its default, 30 s, would let a 408 come that much late). */
export const TIMEOUT_CHECK_MS = 1000;
