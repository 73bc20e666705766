// Pillow's antialiased resampling passes (src/libImaging/Resample.c), compiled to WebAssembly
// (scripts/build-wasm.sh): the same integer arithmetic as the TypeScript they replace, so the
// output stays bit-identical to PIL, at a fraction of the time. No libc: plain loops over
// memory the caller (src/image/resize.ts) lays out in this module's linear memory.
#include <stdint.h>

#define PRECISION_BITS (32 - 8 - 2)
#define HALF (1 << (PRECISION_BITS - 1))

static inline uint8_t clip8(int32_t sum) {
  int32_t v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// Each of `rows` rows of packed RGB `in` (inStride bytes apart) resampled to outWidth pixels:
// output pixel x sums count[x] input pixels from first[x] with weights[x * taps ...].
__attribute__((export_name("horizontal")))
void horizontal(const uint8_t* in, int32_t inStride, int32_t rows, uint8_t* out, int32_t outWidth,
                const int32_t* first, const int32_t* count, const int32_t* weights, int32_t taps) {
  for (int32_t y = 0; y < rows; y++) {
    const uint8_t* row = in + y * inStride;
    uint8_t* o = out + y * outWidth * 3;
    for (int32_t x = 0; x < outWidth; x++, o += 3) {
      const uint8_t* p = row + first[x] * 3;
      const int32_t* w = weights + x * taps;
      int32_t r = HALF, g = HALF, b = HALF;
      for (int32_t t = 0, n = count[x]; t < n; t++, p += 3) {
        r += p[0] * w[t];
        g += p[1] * w[t];
        b += p[2] * w[t];
      }
      o[0] = clip8(r);
      o[1] = clip8(g);
      o[2] = clip8(b);
    }
  }
}

// Columns of packed RGB `band` (width pixels a row) resampled to `height` rows: output row y sums
// count[y] band rows from first[y]. Sample c of pixel (x, y) goes to
// out[offset + c * channelStride + y * rowStride + x * pixelStride] as table[c * 256 + value];
// `line` is scratch for one row of 8-bit results.
__attribute__((export_name("vertical")))
void vertical(const uint8_t* band, int32_t width, int32_t height, const int32_t* first,
              const int32_t* count, const int32_t* weights, int32_t taps, uint8_t* line, float* out,
              int32_t offset, int32_t channelStride, int32_t pixelStride, int32_t rowStride, const float* table) {
  const int32_t stride = width * 3;
  for (int32_t y = 0; y < height; y++) {
    const uint8_t* rows = band + first[y] * stride;
    const int32_t* w = weights + y * taps;
    const int32_t n = count[y];
    for (int32_t i = 0; i < stride; i++) {
      int32_t sum = HALF;
      for (int32_t t = 0; t < n; t++) sum += rows[t * stride + i] * w[t];
      line[i] = clip8(sum);
    }
    float* o = out + offset + y * rowStride;
    for (int32_t x = 0; x < width; x++, o += pixelStride) {
      o[0] = table[line[3 * x]];
      o[channelStride] = table[256 + line[3 * x + 1]];
      o[2 * channelStride] = table[512 + line[3 * x + 2]];
    }
  }
}
