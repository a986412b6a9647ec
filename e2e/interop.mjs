// Interop of SPEC §6's wire formats between this repository's Go code and
// sm-crypto (an independent implementation, as JavaScript apps use it).
// Reads what Go made from stdin, checks it here, and prints what it made
// here for Go to check (sdk/interop_test.go).
import smCrypto from 'sm-crypto';
import { open, seal } from './sm4gcm.mjs';
const { sm2 } = smCrypto;

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));
const opts = { der: true, hash: true }; // DER signatures, SM3 with the ZA step (default ID 1234567812345678)
const out = {};
// Go → here.
out.goSignatureVerifies = sm2.doVerifySignature(input.message, Buffer.from(input.goSignature, 'base64').toString('hex'), input.publicKeyHex, opts);
out.goSignatureOnOtherMessage = sm2.doVerifySignature(input.message + '!', Buffer.from(input.goSignature, 'base64').toString('hex'), input.publicKeyHex, opts);
// sm-crypto leaves out the 04 of C1: drop it from Go's ciphertext.
out.goDataKey = Buffer.from(sm2.doDecrypt(input.goCiphertext.slice(2), input.privateKeyHex, 1, { output: 'array' })).toString('hex');
out.goEnvelope = open(input.dataKeyHex, input.goEnvelope);
try { open(input.dataKeyHex, input.goEnvelope.slice(0, -4) + 'AAA='); out.tamperedOpened = true; } catch { out.tamperedOpened = false; }
// Here → Go.
out.jsSignature = Buffer.from(sm2.doSignature(input.message, input.privateKeyHex, opts), 'hex').toString('base64');
out.jsCiphertext = '04' + sm2.doEncrypt(Buffer.from(input.dataKeyHex, 'hex').toJSON().data, input.publicKeyHex, 1);
out.jsEnvelope = seal(input.dataKeyHex, input.envelopeText);
console.log(JSON.stringify(out));
