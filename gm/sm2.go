package gm

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// SM2 as SPEC §6 fixes it for everything outside parties verify: SM2 with
// SM3 over the message, the default user ID 1234567812345678 (the ZA step
// always applied), signatures DER-encoded (ASN.1 r, s). Keys travel as hex
// (the 32-byte private scalar; the 65-byte uncompressed public point
// 04‖X‖Y) or PEM (PKCS#8, PKIX).

// GenerateSM2Key makes a new SM2 key pair.
func GenerateSM2Key() (*sm2.PrivateKey, error) { return sm2.GenerateKey(rand.Reader) }

// SM2Sign signs msg: DER signature over SM3(ZA ‖ msg) with the default ID.
func SM2Sign(priv *sm2.PrivateKey, msg []byte) ([]byte, error) {
	return priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
}

// SM2Verify checks a DER signature made by SM2Sign (or by any
// implementation following SPEC §6) over msg.
func SM2Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(pub, nil, msg, sig)
}

// SM2PrivateKeyHex is the private scalar as 64 hex digits.
func SM2PrivateKeyHex(priv *sm2.PrivateKey) string {
	return hex.EncodeToString(priv.D.FillBytes(make([]byte, 32)))
}

// ParseSM2PrivateKeyHex reads a private key written by SM2PrivateKeyHex.
func ParseSM2PrivateKeyHex(s string) (*sm2.PrivateKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("sm2 private key: want 64 hex digits")
	}
	return sm2.NewPrivateKey(b)
}

// SM2PublicKeyHex is the public point as 130 hex digits, 04‖X‖Y.
func SM2PublicKeyHex(pub *ecdsa.PublicKey) string {
	b := make([]byte, 65)
	b[0] = 4
	pub.X.FillBytes(b[1:33])
	pub.Y.FillBytes(b[33:])
	return hex.EncodeToString(b)
}

// ParseSM2PublicKeyHex reads an uncompressed public point (04‖X‖Y in hex),
// checking it is on the curve.
func ParseSM2PublicKeyHex(s string) (*ecdsa.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 65 || b[0] != 4 {
		return nil, fmt.Errorf("sm2 public key: want 130 hex digits starting 04")
	}
	return sm2.NewPublicKey(b)
}

// SM2PublicKeyPEM is the public key as a PKIX "PUBLIC KEY" PEM block.
func SM2PublicKeyPEM(pub *ecdsa.PublicKey) (string, error) {
	der, err := smx509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParseSM2PublicKey reads a public key as hex (04‖X‖Y) or as a PKIX PEM
// block, the two forms SPEC §6 allows.
func ParseSM2PublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "-----BEGIN") {
		return ParseSM2PublicKeyHex(s)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("sm2 public key: want a PUBLIC KEY PEM block")
	}
	k, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sm2 public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != sm2.P256() {
		return nil, fmt.Errorf("sm2 public key: not an SM2 key")
	}
	return pub, nil
}

// SM2Encrypt encrypts msg to pub as SPEC §6 fixes it: C1C3C2 with C1 the
// uncompressed point (04‖X‖Y).
func SM2Encrypt(pub *ecdsa.PublicKey, msg []byte) ([]byte, error) {
	return sm2.Encrypt(rand.Reader, pub, msg, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
}

// SM2Decrypt reverses SM2Encrypt.
func SM2Decrypt(priv *sm2.PrivateKey, ciphertext []byte) ([]byte, error) {
	return sm2.Decrypt(priv, ciphertext)
}
