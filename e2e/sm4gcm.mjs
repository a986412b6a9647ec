// SM4-GCM for JavaScript on top of sm-crypto's SM4 block cipher, as an
// app's developers need it to open the platform's envelopes (SPEC §6:
// base64 of nonce(12)‖ciphertext‖tag(16)); sm-crypto has SM4 ECB and CBC
// but no GCM. Follows NIST SP 800-38D for 96-bit nonces, no associated
// data. docs/app-integration.md shows the same code.
import smCrypto from 'sm-crypto';
const { sm4 } = smCrypto;

const block = (key, bytes) => Uint8Array.from(sm4.encrypt(Array.from(bytes), key, { mode: 'ecb', padding: 'none', output: 'array' }));
const toBig = (b) => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
const fromBig = (n) => { const b = new Uint8Array(16); for (let i = 15; i >= 0; i--) { b[i] = Number(n & 0xffn); n >>= 8n; } return b; };
const R = 0xe1n << 120n;

// mul multiplies in GF(2^128) with GCM's bit order.
function mul(x, y) {
  let z = 0n, v = y;
  for (let i = 127; i >= 0; i--) {
    if ((x >> BigInt(i)) & 1n) z ^= v;
    v = (v & 1n) ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

function ghash(h, data, bits) {
  let y = 0n;
  for (let i = 0; i < data.length; i += 16) {
    const chunk = new Uint8Array(16);
    chunk.set(data.subarray(i, i + 16));
    y = mul(y ^ toBig(chunk), h);
  }
  return mul(y ^ BigInt(bits), h); // lengths block: len(A)=0, len(C) in bits
}

function ctr(key, j0, data) {
  const out = new Uint8Array(data.length);
  const counter = j0.slice();
  for (let i = 0; i < data.length; i += 16) {
    let c = (counter[12] << 24 | counter[13] << 16 | counter[14] << 8 | counter[15]) >>> 0;
    c = (c + 1) >>> 0;
    counter[12] = c >>> 24; counter[13] = (c >>> 16) & 255; counter[14] = (c >>> 8) & 255; counter[15] = c & 255;
    const ks = block(key, counter);
    for (let j = 0; j < 16 && i + j < data.length; j++) out[i + j] = data[i + j] ^ ks[j];
  }
  return out;
}

function parts(key, nonce) {
  const h = toBig(block(key, new Uint8Array(16)));
  const j0 = new Uint8Array(16);
  j0.set(nonce);
  j0[15] = 1;
  return { h, j0 };
}

// open opens an envelope (base64) with a 16-byte key given as hex; it
// throws if the envelope is truncated or was changed.
export function open(keyHex, envelope) {
  const sealed = Uint8Array.from(Buffer.from(envelope, 'base64'));
  if (sealed.length < 28) throw new Error('envelope too short');
  const nonce = sealed.subarray(0, 12), ct = sealed.subarray(12, sealed.length - 16), tag = sealed.subarray(sealed.length - 16);
  const { h, j0 } = parts(keyHex, nonce);
  const want = fromBig(ghash(h, ct, ct.length * 8) ^ toBig(block(keyHex, j0)));
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= want[i] ^ tag[i];
  if (diff !== 0) throw new Error('envelope tag does not match');
  return Buffer.from(ctr(keyHex, j0, ct)).toString('utf8');
}

// seal makes an envelope of a UTF-8 text with a random nonce.
export function seal(keyHex, text, nonce = crypto.getRandomValues(new Uint8Array(12))) {
  const pt = Uint8Array.from(Buffer.from(text, 'utf8'));
  const { h, j0 } = parts(keyHex, nonce);
  const ct = ctr(keyHex, j0, pt);
  const tag = fromBig(ghash(h, ct, ct.length * 8) ^ toBig(block(keyHex, j0)));
  return Buffer.concat([nonce, ct, tag]).toString('base64');
}
