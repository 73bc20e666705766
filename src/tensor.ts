/** A dense float32 tensor in row-major order, e.g. a batch of images as [N, 3, 224, 224]. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d > 0) || size !== data.length) {
    throw new RangeError(`tensor of shape [${shape.join(', ')}] needs ${size} values, got ${data.length}`);
  }
  return { data, shape };
}

/**
 * Stacks tensors of equal shape [1, ...rest] along the first axis, into the start of `out` if
 * given (it must be large enough). One part is returned as it is.
 */
export function concat(parts: readonly Tensor[], out?: Float32Array): Tensor {
  if (parts.length === 0) throw new RangeError('concat needs at least one tensor');
  const rest = parts[0].shape.slice(1).join(',');
  if (parts.length === 1) return parts[0];
  const size = parts.reduce((n, t) => n + t.data.length, 0);
  if (out && out.length < size) throw new RangeError(`concat needs ${size} values of room, got ${out.length}`);
  const data = out ? out.subarray(0, size) : new Float32Array(size);
  let offset = 0;
  let batch = 0;
  for (const t of parts) {
    if (t.shape.slice(1).join(',') !== rest) {
      throw new RangeError(`cannot concat [${t.shape.join(', ')}] with [${parts[0].shape.join(', ')}]`);
    }
    data.set(t.data, offset);
    offset += t.data.length;
    batch += t.shape[0];
  }
  return { data, shape: [batch, ...parts[0].shape.slice(1)] };
}

/** The rows of a [N, ...] tensor, as views (no copy). */
export function split(t: Tensor): Tensor[] {
  const n = t.shape[0];
  const size = t.data.length / n;
  return Array.from({ length: n }, (_, i) => ({ data: t.data.subarray(i * size, (i + 1) * size), shape: [1, ...t.shape.slice(1)] }));
}
