/*
 * PIL stops reading a PNG once its image data (the IDAT chunks) is decoded, so what follows does
 * not matter to it: a damaged chunk after the image, or a damaged or missing IEND. pngjs (jimp's
 * PNG codec) parses every chunk to the end. So jimp gets the PNG up to its image data, then IEND.
 */

const IEND = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/** The PNG's chunks up to the last of its first run of IDAT chunks, then IEND; the PNG itself if that run does not end within the data. */
export function pngUpToImageData(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let inImageData = false;
  for (let p = 8; p + 8 <= png.length; ) {
    const idat = png[p + 4] === 0x49 && png[p + 5] === 0x44 && png[p + 6] === 0x41 && png[p + 7] === 0x54;
    if (inImageData && !idat) {
      const out = new Uint8Array(p + IEND.length);
      out.set(png.subarray(0, p));
      out.set(IEND, p);
      return out;
    }
    inImageData = idat;
    p += 12 + view.getUint32(p);
  }
  return png;
}
