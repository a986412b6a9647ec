package gm

import (
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// Sizes of the SM4-GCM envelope of SPEC §6: nonce(12)‖ciphertext‖tag(16).
const (
	KeySize   = 16 // SM4 key
	NonceSize = 12
	TagSize   = 16
)

// ErrDecrypt reports sealed data that is too short, was altered, was sealed
// under another key or with other additional data. The cases are not told
// apart on purpose.
var ErrDecrypt = errors.New("gm: decryption failed")

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("gm: SM4 key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gm: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealGCM encrypts and authenticates plaintext (and authenticates aad) with
// SM4-GCM under a 16-byte key, returning nonce(12)‖ciphertext‖tag(16) with a
// fresh random nonce — the envelope of SPEC §6 (9.2.1 c). Random 96-bit nonces
// are safe for up to 2^32 messages per key.
func SealGCM(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return seal(aead, plaintext, aad), nil
}

// OpenGCM reverses SealGCM. It returns ErrDecrypt for short, altered or
// foreign input, and never panics.
func OpenGCM(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return open(aead, sealed, aad)
}

func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	out := make([]byte, NonceSize, NonceSize+len(plaintext)+TagSize)
	copy(out, GenerateKey(NonceSize))
	return aead.Seal(out, out[:NonceSize], plaintext, aad)
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < NonceSize+TagSize {
		return nil, ErrDecrypt
	}
	plain, err := aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
