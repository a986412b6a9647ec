// Package signedreq is the signed-request format of SPEC §6, used both ways:
// the platform signs its calls to source interfaces with the platform key
// (9.4.4 a), and apps sign their calls to the platform with their own keys.
//
// A request carries X-App-Id, X-Timestamp (Unix milliseconds), X-Nonce (16
// or more random characters) and X-Signature: base64 of the DER SM2
// signature (SM3, default user ID) over
//
//	METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(SM3(body))
//
// where PATH is the request target as sent: the escaped path and, when
// there is one, "?" and the raw query, so the parameters of a GET are
// signed too. The platform also sends X-Key-Id, the platform key that
// signed, so a provider can pick the public key after a rotation.
package signedreq

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"govmobile/gm"
)

// Header names.
const (
	HeaderAppID     = "X-App-Id"
	HeaderKeyID     = "X-Key-Id"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
)

// MaxSkew is the largest clock difference a verifier accepts.
const MaxSkew = 300 * time.Second

// MinNonce is the shortest nonce a verifier accepts.
const MinNonce = 16

// StringToSign is the message a signature covers.
func StringToSign(method, path string, timestampMs int64, nonce string, body []byte) []byte {
	return []byte(strings.ToUpper(method) + "\n" + path + "\n" + strconv.FormatInt(timestampMs, 10) + "\n" + nonce + "\n" + gm.SM3Hex(body))
}

// Target is the PATH of the string to sign for a request.
func Target(r *http.Request) string {
	return r.URL.RequestURI()
}

// Nonce is 24 random characters.
func Nonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Sign sets the signature headers on r, whose body is body. sign makes a
// DER SM2 signature; keyID, when not empty, names the key.
func Sign(r *http.Request, body []byte, appID, keyID string, now time.Time, sign func([]byte) ([]byte, error)) error {
	ts, nonce := now.UnixMilli(), Nonce()
	sig, err := sign(StringToSign(r.Method, Target(r), ts, nonce, body))
	if err != nil {
		return err
	}
	r.Header.Set(HeaderAppID, appID)
	if keyID != "" {
		r.Header.Set(HeaderKeyID, keyID)
	}
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderNonce, nonce)
	r.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// Errors of Check, each its own reason.
var (
	ErrMissing   = errors.New("signed request: a signature header is missing")
	ErrTimestamp = errors.New("signed request: timestamp outside the allowed window")
	ErrNonce     = errors.New("signed request: nonce too short or too long")
	ErrSignature = errors.New("signed request: signature does not verify")
)

// Check verifies a received request's timestamp window and signature
// against pub. It does not remember nonces: a verifier must also refuse a
// nonce seen within MaxSkew.
func Check(r *http.Request, body []byte, pub *ecdsa.PublicKey, now time.Time) error {
	tsText, nonce, sigText := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	if r.Header.Get(HeaderAppID) == "" || tsText == "" || nonce == "" || sigText == "" {
		return ErrMissing
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.UnixMilli(ts)); d > MaxSkew || d < -MaxSkew {
		return ErrTimestamp
	}
	if len(nonce) < MinNonce || len(nonce) > 128 {
		return ErrNonce
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil || !gm.SM2Verify(pub, StringToSign(r.Method, Target(r), ts, nonce, body), sig) {
		return ErrSignature
	}
	return nil
}
