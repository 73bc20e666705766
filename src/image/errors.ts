export type ImageErrorCode =
  | 'EMPTY_INPUT'
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'TOO_MANY_PIXELS'
  | 'CORRUPT_IMAGE'
  /** Decoding ran past its deadline or heap: stopped, so that it cannot hold up the other photos. */
  | 'DECODE_TOO_COSTLY';

/** A problem with the input bytes (the caller's fault), as opposed to a bug or a system failure. */
export class ImageError extends Error {
  override readonly name = 'ImageError';

  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function tooManyPixels(width: number, height: number, maxPixels: number): ImageError {
  return new ImageError(
    'TOO_MANY_PIXELS',
    `Image is ${width}×${height} = ${megapixels(width * height)} MP, over the ${megapixels(maxPixels)} MP limit (maxPixels)`,
  );
}

/** Wraps a decoder's own failure on bytes that passed the header check. */
export function corrupt(format: string, cause: unknown): ImageError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ImageError('CORRUPT_IMAGE', `Corrupt or truncated ${format} image: ${reason}`, { cause });
}

function megapixels(pixels: number): string {
  return String(Number((pixels / 1e6).toFixed(1)));
}
