// The Open Inference Protocol v2 (KServe / Triton REST) as data: request and response shapes,
// the binary-data extension's framing, and BYTES tensors. No HTTP here.
import { badRequest } from './errors.js';

export type Datatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export interface InferInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  /** binary_data_size: this input's bytes follow the JSON header (binary-data extension). */
  parameters?: { binary_data_size?: number };
  /** Row-major values (nested arrays are flattened); BYTES elements as strings. */
  data?: unknown[];
}

export interface RequestedOutput {
  name: string;
  /** classification: K turns the output into K "score:index:label" strings per row. */
  parameters?: { binary_data?: boolean; classification?: number };
}

export interface InferRequest {
  id?: string;
  parameters?: { binary_data_output?: boolean };
  inputs: InferInput[];
  outputs?: RequestedOutput[];
}

export interface InferOutput {
  name: string;
  datatype: 'FP32' | 'BYTES';
  shape: number[];
  parameters?: { binary_data_size: number };
  data?: number[] | string[];
}

/** The header name tritonclient and KServe send and expect, lower-cased as Node presents it. */
export const HEADER_LENGTH = 'inference-header-content-length';

/** Where the binary tail of a binary-data request is kept on the parsed body. */
const BINARY = Symbol('binary tail');
type Framed = InferRequest & { [BINARY]?: Buffer };

/** Splits a body into its JSON header and the binary tail (when the header length is given). */
export function parseInferBody(body: Buffer, headerLength: string | undefined): InferRequest {
  const split = headerLength === undefined ? body.length : Number(headerLength);
  if (!(Number.isInteger(split) && split >= 0 && split <= body.length)) {
    throw badRequest(`${HEADER_LENGTH} is ${headerLength}, but the body has ${body.length} bytes`);
  }
  let request: Framed;
  try {
    request = JSON.parse(body.subarray(0, split).toString('utf8'));
  } catch (err) {
    throw badRequest(`the inference header is not valid JSON: ${(err as Error).message}`);
  }
  if (request === null || typeof request !== 'object') throw badRequest('the inference request must be a JSON object');
  if (split < body.length) request[BINARY] = body.subarray(split);
  return request;
}

/** Each input's raw bytes from the binary tail, in input order, or undefined where it uses JSON data. */
export function binaryInputs(request: InferRequest): (Buffer | undefined)[] {
  const tail = (request as Framed)[BINARY] ?? Buffer.alloc(0);
  let offset = 0;
  const parts = request.inputs.map((input) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return undefined;
    if (!(Number.isInteger(size) && size >= 0 && offset + size <= tail.length)) {
      throw badRequest(`input '${input.name}': binary_data_size ${size} overruns the ${tail.length}-byte binary data`);
    }
    offset += size;
    return tail.subarray(offset - size, offset);
  });
  if (offset !== tail.length) throw badRequest(`${tail.length - offset} bytes of binary data belong to no input`);
  return parts;
}

/** BYTES elements in binary form: each one a 4-byte little-endian length, then its bytes. */
export function readBytesElements(buffer: Buffer): Buffer[] {
  const elements: Buffer[] = [];
  for (let offset = 0; offset < buffer.length; ) {
    if (offset + 4 > buffer.length) throw badRequest('BYTES data ends inside an element length');
    const length = buffer.readUInt32LE(offset);
    offset += 4;
    if (offset + length > buffer.length) throw badRequest('BYTES data ends inside an element');
    elements.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  return elements;
}

export function writeBytesElements(elements: readonly string[]): Buffer {
  return Buffer.concat(elements.flatMap((s) => {
    const bytes = Buffer.from(s, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return [length, bytes];
  }));
}

/** The response body: plain JSON, or JSON header + binary tail when any output is binary. */
export function encodeResponse(
  header: { outputs: InferOutput[]; [field: string]: unknown },
  binaries: Buffer[],
): { body: string | Buffer; headerLength?: number } {
  const json = JSON.stringify(header);
  if (binaries.length === 0) return { body: json };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...binaries]), headerLength: head.length };
}

/** Elements of a tensor's shape; the data must hold exactly this many. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
