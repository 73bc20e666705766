// One fuzzed photo to the running service, in each of the ways a client may send a photo, and
// what the answer must be: 200, or a 4xx whose JSON error names the problem.

export type Transport = 'raw body' | 'multipart' | 'base64 JSON' | 'v2 BYTES';
export const TRANSPORTS: readonly Transport[] = ['raw body', 'multipart', 'base64 JSON', 'v2 BYTES'];

export interface Answer {
  readonly status: number;
  /** The JSON error's code (ImageError), if any. */
  readonly code?: string;
  readonly error?: string;
  readonly ms: number;
  /** What is wrong with the answer itself, if anything: 5xx, not JSON, no error message, no answer. */
  readonly fault?: string;
}

export async function send(base: string, model: string, transport: Transport, bytes: Uint8Array, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  const { url, init } = request(base, model, transport, bytes);
  let status = 0;
  let text = '';
  try {
    const response = await fetch(url, { ...init, method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
    status = response.status;
    text = await response.text();
  } catch (err) {
    return { status, ms: performance.now() - started, fault: `no answer: ${(err as Error).message}` };
  }
  const ms = performance.now() - started;
  let json: { error?: unknown; code?: unknown; results?: unknown; outputs?: unknown };
  try {
    json = JSON.parse(text);
  } catch {
    return { status, ms, fault: `HTTP ${status}, not JSON: ${text.slice(0, 200)}` };
  }
  if (status === 200) {
    return json.results !== undefined || json.outputs !== undefined ? { status, ms } : { status, ms, fault: `HTTP 200 without results: ${text.slice(0, 200)}` };
  }
  const error = typeof json.error === 'string' ? json.error : undefined;
  const code = typeof json.code === 'string' ? json.code : undefined;
  if (status >= 500) return { status, code, error, ms, fault: `HTTP ${status}: ${text.slice(0, 200)}` };
  if (status < 400 || !error || error.length < 10) return { status, code, error, ms, fault: `HTTP ${status} without an error that names the problem: ${text.slice(0, 200)}` };
  return { status, code, error, ms };
}

function request(base: string, model: string, transport: Transport, bytes: Uint8Array): { url: string; init: RequestInit } {
  const body = Buffer.from(bytes); // a copy, of an ArrayBuffer as fetch wants it
  switch (transport) {
    case 'raw body':
      return { url: `${base}/v1/predict`, init: { headers: { 'content-type': 'application/octet-stream' }, body } };
    case 'multipart': {
      const form = new FormData();
      form.append('file', new Blob([body]), 'photo');
      return { url: `${base}/v1/predict`, init: { body: form } };
    }
    case 'base64 JSON':
      return { url: `${base}/v1/predict`, init: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: body.toString('base64') }) } };
    case 'v2 BYTES': {
      const inputs = [{ name: 'image', datatype: 'BYTES', shape: [1], data: [body.toString('base64')] }];
      return { url: `${base}/v2/models/${model}/infer`, init: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) } };
    }
  }
}
