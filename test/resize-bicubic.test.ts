// PIL's antialiased bicubic (a = -0.5, support 2 widened when shrinking), byte for byte: its
// negative lobes take sums below 0 and above 255, which the integer passes must clip as Pillow does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resizeBicubic } from '../src/image/resize.js';
import { pattern } from './image-fixtures.js';


// Pillow 12.3.0.
const PIL_BICUBIC: [from: [number, number], to: [number, number], hex: string][] = [
  [[7, 5], [3, 2], '6b859086888e877f837892757d7c6b678579'],
  [[5, 9], [5, 4], '497e817578b577ac72a46a9f6196a1619678a2887e58954ca4588d679c4a77b4816d9b918572a49b4f8478b5638f5e96a164a1ac497e894f84905e69'],
  [[64, 48], [9, 7], '7e82817e7f7b837f807b867a88787f797e7f7f7b787e7b8477827a8979818183837e86787982837b7e7d897280837e7c84857d7b817f7c827d7477896e6e85837d777c7e816a7790857a7f86847d7887987984817f767971788c81847e7e7d7d71819181807d807a7b6e7f978a77887a847e808c798774817f797e7a897f857b7d847b7f7c7e81827a817f868680797c79807d817c827a7c7b8b7f79827683847c728585777575875f6e8c79807e767f7d88586e8b797f84748aa3765b'],
  [
    [7, 5],
    [11, 8],
    '002b60063b6f21568c386cb04e8acc66ade28ac6ffa8e3d2befd25d86d21e800401e50932d68ab4c8ebc70b085929b7ca76a9f757eca60a5bd82ca67a88874c04e8e5e94be73a3e095c2e8aef252d4ab25e9215660366f195d8b4975b0679cd577b4e9a9ec46cba060dd4a826e737b5683958680b582af4f939721bc2858653f8e1966af88cc25ae8347c63273616670507d8e837db283b1579ba031cf3b677e536535785910466f2e5e9e608cba8acf30c09710e21a4f653c792d71ab6f9cd99dce6eb6ec113a6ebc639e988cce64579845636c5e995c918a93645e9e5f286a9b58938d88bc776ca1ea9fd487bcf11a2c5f5e0d49ab569dd2aae64f93c71401365a1f54a25186cf',
  ],
];

describe('resizeBicubic', () => {
  for (const [[w, h], [ow, oh], hex] of PIL_BICUBIC) {
    it(`is byte-identical to PIL for ${w}×${h} → ${ow}×${oh}`, () => {
      assert.equal(Buffer.from(resizeBicubic(pattern(w, h), ow, oh).data).toString('hex'), hex);
    });
  }

  it('clips the over- and undershoot at an edge as PIL does', () => {
    // Two rows: red 0 → 255, green 10 → 245 at x = 4; PIL rings to green 4, 0 (clipped) and 251.
    const data = new Uint8Array(8 * 2 * 3);
    for (let i = 0; i < 16; i++) data.set(i % 8 < 4 ? [0, 10, 0] : [255, 245, 255], i * 3);
    const out = resizeBicubic({ width: 8, height: 2, data }, 13, 2);
    const row = '000a00000a00000a00000a00000400000000808080fffffffffbfffff5fffff5fffff5fffff5ff';
    assert.equal(Buffer.from(out.data).toString('hex'), row + row);
  });
});
