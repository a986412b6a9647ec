package gm_test

import (
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"govmobile/gm"
)

// The signature example of GB/T 32918 (SPEC §6) verifies: message "message
// digest", the default ID, the given d and the r, s it gives.
func TestSM2ReferenceSignatureVerifies(t *testing.T) {
	d, _ := new(big.Int).SetString("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8", 16)
	priv, err := sm2.NewPrivateKeyFromInt(d)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := new(big.Int).SetString("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", 16)
	s, _ := new(big.Int).SetString("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", 16)
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1BigInt(r); b.AddASN1BigInt(s) })
	sig := b.BytesOrPanic()
	if !gm.SM2Verify(&priv.PublicKey, []byte("message digest"), sig) {
		t.Fatal("the GB/T 32918 example signature does not verify")
	}
	if gm.SM2Verify(&priv.PublicKey, []byte("message digesT"), sig) {
		t.Fatal("the example signature verifies another message")
	}
}

func TestSM2SignVerifyAndKeyFormats(t *testing.T) {
	priv, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("GET\n/api\n1700000000000\nnonce-0123456789\n" + hex.EncodeToString(gm.SM3(nil)))
	sig, err := gm.SM2Sign(priv, msg)
	if err != nil || !gm.SM2Verify(&priv.PublicKey, msg, sig) {
		t.Fatalf("sign/verify: %v", err)
	}
	back, err := gm.ParseSM2PrivateKeyHex(gm.SM2PrivateKeyHex(priv))
	if err != nil || back.D.Cmp(priv.D) != 0 {
		t.Fatalf("private key hex round trip: %v", err)
	}
	pubHex := gm.SM2PublicKeyHex(&priv.PublicKey)
	if len(pubHex) != 130 || pubHex[:2] != "04" {
		t.Fatalf("public key hex %q", pubHex)
	}
	pub, err := gm.ParseSM2PublicKeyHex(pubHex)
	if err != nil || !gm.SM2Verify(pub, msg, sig) {
		t.Fatalf("public key hex round trip: %v", err)
	}
	p, err := gm.SM2PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(p))
	parsed, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !gm.SM2Verify(parsed.(*ecdsa.PublicKey), msg, sig) {
		t.Fatalf("PEM round trip: %v", err)
	}
	for _, bad := range []string{"", "04", pubHex[:128], "05" + pubHex[2:], "zz" + pubHex[2:]} {
		if _, err := gm.ParseSM2PublicKeyHex(bad); err == nil {
			t.Errorf("public key %q accepted", bad)
		}
	}
}
