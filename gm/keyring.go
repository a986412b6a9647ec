package gm

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// HMACKeySize is the size of the blind-index key.
const HMACKeySize = 32

// keyWrapAAD binds wrapped keys to their purpose, so a wrapped key can never
// be mistaken for (or swapped with) other data sealed under the master key.
var keyWrapAAD = []byte("govmobile-key-wrap")

// LoadOrCreateMasterKey returns the 16-byte SM4 key-encryption key stored as
// hex in the file at path (surrounding whitespace ignored). When the file does
// not exist it creates it with a fresh random key, mode 0600, creating missing
// parent directories with mode 0700 (SPEC §2, --master-key-file). A file that
// does not hold exactly 16 bytes of hex is refused, never overwritten: losing
// the master key makes every encrypted record unreadable.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	key, err := readMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("gm: create master key directory: %w", err)
	}
	key = GenerateKey(KeySize)
	// Written whole to a temporary file, then linked into place: link fails
	// if another process (a replica starting at the same moment on a shared
	// volume) created the file meanwhile, and then its key is used; no
	// process ever reads a file still being written.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return nil, fmt.Errorf("gm: create master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err = tmp.Chmod(0o600); err == nil {
		if _, err = tmp.WriteString(hex.EncodeToString(key) + "\n"); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("gm: write master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readMasterKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("gm: create master key file: %w", err)
	}
	return key, nil
}

func readMasterKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("gm: read master key file: %w", err)
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(key) != KeySize {
		// The content is not echoed: it may be a key.
		return nil, fmt.Errorf("gm: master key file %s must hold %d bytes as %d hex digits", path, KeySize, 2*KeySize)
	}
	return key, nil
}

// WrapKey seals key under the master key (SM4-GCM, additional data
// "govmobile-key-wrap") and returns it base64 encoded, for storage next to the
// data it protects.
func WrapKey(master, key []byte) (string, error) {
	sealed, err := SealGCM(master, key, keyWrapAAD)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// UnwrapKey reverses WrapKey. It returns ErrDecrypt when wrapped was not made
// by WrapKey under this master key.
func UnwrapKey(master []byte, wrapped string) ([]byte, error) {
	sealed, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return nil, ErrDecrypt
	}
	return OpenGCM(master, sealed, keyWrapAAD)
}

// Keyring holds the keys that protect personal data at rest (SPEC §4): an SM4
// data key that encrypts values, and an HMAC-SM3 key that computes blind
// indexes so encrypted values can still be looked up by equality.
// A Keyring is safe for concurrent use.
type Keyring struct {
	aead    cipher.AEAD
	hmacKey []byte
}

// NewKeyring returns a keyring from a 16-byte data key and a 32-byte HMAC key.
// The two keys must be independent: never derive one from the other.
func NewKeyring(dataKey, hmacKey []byte) (*Keyring, error) {
	if len(hmacKey) != HMACKeySize {
		return nil, fmt.Errorf("gm: HMAC key must be %d bytes, got %d", HMACKeySize, len(hmacKey))
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, hmacKey: bytes.Clone(hmacKey)}, nil
}

// EncryptString seals plain under the data key and returns base64 (standard,
// padded) of nonce‖ciphertext‖tag. The empty string stays empty, so optional
// fields stay distinguishable from filled ones without decryption.
func (k *Keyring) EncryptString(plain string) (string, error) { return k.SealString(plain, "") }

// SealString is EncryptString bound to a context (used as GCM associated
// data), such as the table, column and owner of the value: a ciphertext moved
// to another column or another row no longer opens.
func (k *Keyring) SealString(plain, context string) (string, error) {
	if plain == "" {
		return "", nil
	}
	return base64.StdEncoding.EncodeToString(seal(k.aead, []byte(plain), []byte(context))), nil
}

// DecryptString reverses EncryptString; it returns ErrDecrypt for anything
// EncryptString under this keyring did not produce.
func (k *Keyring) DecryptString(enc string) (string, error) { return k.OpenString(enc, "") }

// OpenString reverses SealString with the same context.
func (k *Keyring) OpenString(enc, context string) (string, error) {
	if enc == "" {
		return "", nil
	}
	sealed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", ErrDecrypt
	}
	plain, err := open(k.aead, sealed, []byte(context))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// BlindIndex returns hex(HMAC-SM3(hmacKey, kind‖0x00‖value)): a deterministic
// lookup key for an encrypted value. kind ("ID_NUMBER", "PHONE", …) separates
// domains so equal values of different kinds do not collide. Callers normalise
// value first (e.g. validate.NormalizeIDNumber), or equal values will not match.
func (k *Keyring) BlindIndex(kind, value string) string {
	m := hmacNew(k.hmacKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
