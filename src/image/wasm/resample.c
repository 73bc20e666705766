// Pillow's antialiased resampling passes (src/libImaging/Resample.c), compiled to WebAssembly
// (scripts/build-wasm.sh): the same integer arithmetic as the TypeScript they replace, so the
// output stays bit-identical to PIL, at a fraction of the time. No libc: plain loops over
// memory the caller (src/image/resize.ts) lays out in this module's linear memory.
#include <stdint.h>
#include <wasm_simd128.h>

#define PRECISION_BITS (32 - 8 - 2)
#define HALF (1 << (PRECISION_BITS - 1))

static inline uint8_t clip8(int32_t sum) {
  int32_t v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// 4 samples from p (one pixel's R, G, B and the next byte, whose sum is never stored) as int32.
static inline v128_t load4(const uint8_t* p) {
  return wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(p)));
}

// Sums >> PRECISION_BITS clipped to 0..255, as clip8 does, 16 at a time.
static inline v128_t clip16(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t lo = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(a, PRECISION_BITS), wasm_i32x4_shr(b, PRECISION_BITS));
  const v128_t hi = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(c, PRECISION_BITS), wasm_i32x4_shr(d, PRECISION_BITS));
  return wasm_u8x16_narrow_i16x8(lo, hi);
}

// Each of `rows` rows of packed RGB `in` (inStride bytes apart) resampled to outWidth pixels:
// output pixel x sums count[x] input pixels from first[x] with weights[x * taps ...]. The three
// channels of a pixel are summed in one SIMD vector.
__attribute__((export_name("horizontal")))
void horizontal(const uint8_t* in, int32_t inStride, int32_t rows, uint8_t* out, int32_t outWidth,
                const int32_t* first, const int32_t* count, const int32_t* weights, int32_t taps) {
  for (int32_t y = 0; y < rows; y++) {
    const uint8_t* row = in + y * inStride;
    uint8_t* o = out + y * outWidth * 3;
    for (int32_t x = 0; x < outWidth; x++, o += 3) {
      const uint8_t* p = row + first[x] * 3;
      const int32_t* w = weights + x * taps;
      v128_t sum = wasm_i32x4_splat(HALF);
      for (int32_t t = 0, n = count[x]; t < n; t++, p += 3) sum = wasm_i32x4_add(sum, wasm_i32x4_mul(load4(p), wasm_i32x4_splat(w[t])));
      o[0] = clip8(wasm_i32x4_extract_lane(sum, 0));
      o[1] = clip8(wasm_i32x4_extract_lane(sum, 1));
      o[2] = clip8(wasm_i32x4_extract_lane(sum, 2));
    }
  }
}

// Columns of packed RGB `band` (width pixels a row) resampled to `height` rows: output row y sums
// count[y] band rows from first[y], 16 samples at a time. Sample c of pixel (x, y) goes to
// out[offset + c * channelStride + y * rowStride + x * pixelStride] as table[c * 256 + value];
// `line` is scratch for one row of 8-bit results (16 bytes longer than a row).
__attribute__((export_name("vertical")))
void vertical(const uint8_t* band, int32_t width, int32_t height, const int32_t* first,
              const int32_t* count, const int32_t* weights, int32_t taps, uint8_t* line, float* out,
              int32_t offset, int32_t channelStride, int32_t pixelStride, int32_t rowStride, const float* table) {
  const int32_t stride = width * 3;
  for (int32_t y = 0; y < height; y++) {
    const uint8_t* rows = band + first[y] * stride;
    const int32_t* w = weights + y * taps;
    const int32_t n = count[y];
    for (int32_t i = 0; i < stride; i += 16) {
      v128_t s0 = wasm_i32x4_splat(HALF), s1 = s0, s2 = s0, s3 = s0;
      for (int32_t t = 0; t < n; t++) {
        // Past the row's end this reads bytes of the next row (or the band's end), whose sums
        // land in line's spare 16 bytes and are never used.
        const v128_t v = wasm_v128_load(rows + t * stride + i);
        const v128_t k = wasm_i32x4_splat(w[t]);
        const v128_t lo = wasm_u16x8_extend_low_u8x16(v);
        const v128_t hi = wasm_u16x8_extend_high_u8x16(v);
        s0 = wasm_i32x4_add(s0, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(lo), k));
        s1 = wasm_i32x4_add(s1, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(lo), k));
        s2 = wasm_i32x4_add(s2, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(hi), k));
        s3 = wasm_i32x4_add(s3, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(hi), k));
      }
      wasm_v128_store(line + i, clip16(s0, s1, s2, s3));
    }
    float* o = out + offset + y * rowStride;
    for (int32_t x = 0; x < width; x++, o += pixelStride) {
      o[0] = table[line[3 * x]];
      o[channelStride] = table[256 + line[3 * x + 1]];
      o[2 * channelStride] = table[512 + line[3 * x + 2]];
    }
  }
}
