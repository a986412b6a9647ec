// Package gm provides govmobile's Chinese commercial cryptography (国密), built
// on github.com/emmansun/gmsm: SM3 hashing and HMAC (GB/T 32905), SM4-GCM
// sealing (GB/T 32907), the slow SM3-based password KDF, the keyring that
// encrypts personal data at rest and computes its blind indexes, and random
// tokens for login tickets.
//
// It must never log, print or put into an error message a key, a password, a
// plaintext or anything derived from them; it must never use math/rand; and it
// must never compare secrets with anything but a constant-time comparison.
// Wire formats produced here are fixed by SPEC §6 and read by other parties:
// changing them breaks interoperability.
package gm

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// SM3 returns the 32-byte SM3 digest of data (GB/T 32905-2016).
func SM3(data []byte) []byte {
	sum := sm3.Sum(data)
	return sum[:]
}

// SM3Hex returns the SM3 digest of data as lowercase hex, the form used in the
// signed request string of SPEC §6 (hex(SM3(body))).
func SM3Hex(data []byte) string {
	sum := sm3.Sum(data)
	return hex.EncodeToString(sum[:])
}

// HMACSM3 returns HMAC-SM3(key, msg), 32 bytes.
func HMACSM3(key, msg []byte) []byte {
	m := hmacNew(key)
	m.Write(msg)
	return m.Sum(nil)
}

func hmacNew(key []byte) hash.Hash { return hmac.New(sm3.New, key) }

// StrictBase64URL decodes base64url without padding, refusing any other
// spelling of the same bytes (line breaks, which Go's decoder skips, or
// non-zero trailing bits): a signed code has one payload.
func StrictBase64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
