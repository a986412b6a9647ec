package gm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSealOpenGCMRoundTrip(t *testing.T) {
	key := GenerateKey(KeySize)
	tests := []struct {
		name       string
		plain, aad []byte
	}{
		{"empty", nil, nil},
		{"one byte", []byte{0}, nil},
		{"block", []byte("0123456789abcdef"), nil},
		{"chinese with aad", []byte(`{"name":"张三","idNumber":"110101199003074514"}`), []byte("app-1")},
		{"large", bytes.Repeat([]byte("x"), 1<<16+3), []byte("aad")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := SealGCM(key, tt.plain, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(sealed), NonceSize+len(tt.plain)+TagSize; got != want {
				t.Fatalf("len(sealed) = %d, want %d", got, want)
			}
			got, err := OpenGCM(key, sealed, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Errorf("OpenGCM = %q, want %q", got, tt.plain)
			}
		})
	}
}

// The envelope layout nonce‖ciphertext‖tag is what Java and JavaScript
// clients parse (SPEC §6). Vector from gmsm's GCM example.
func TestOpenGCMFixedVector(t *testing.T) {
	key := mustHex(t, "6368616e676520746869732070617373")
	sealed := mustHex(t, "07d168e0517656ab7131f495"+"b7fdece1c6b3dce9cc386e8bc93df0ce496df789166229f14b973b694a4a23c3")
	got, err := OpenGCM(key, sealed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "exampleplaintext" {
		t.Errorf("OpenGCM = %q", got)
	}
}

func TestSealGCMFreshNonce(t *testing.T) {
	key := GenerateKey(KeySize)
	a, _ := SealGCM(key, []byte("same"), nil)
	b, _ := SealGCM(key, []byte("same"), nil)
	if bytes.Equal(a[:NonceSize], b[:NonceSize]) || bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestOpenGCMRejects(t *testing.T) {
	key := GenerateKey(KeySize)
	sealed, err := SealGCM(key, []byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name   string
		key    []byte
		sealed []byte
		aad    []byte
	}{
		{"nil", key, nil, []byte("aad")},
		{"nonce only", key, sealed[:NonceSize], []byte("aad")},
		{"one byte short of minimum", key, sealed[:NonceSize+TagSize-1], []byte("aad")},
		{"truncated", key, sealed[:len(sealed)-1], []byte("aad")},
		{"extended", key, append(bytes.Clone(sealed), 0), []byte("aad")},
		{"nonce flipped", key, flip(0), []byte("aad")},
		{"ciphertext flipped", key, flip(NonceSize), []byte("aad")},
		{"tag flipped", key, flip(len(sealed) - 1), []byte("aad")},
		{"wrong key", GenerateKey(KeySize), sealed, []byte("aad")},
		{"wrong aad", key, sealed, []byte("aae")},
		{"missing aad", key, sealed, nil},
		{"garbage", key, bytes.Repeat([]byte{0xff}, 64), []byte("aad")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenGCM(tt.key, tt.sealed, tt.aad)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("err = %v, want ErrDecrypt", err)
			}
			if got != nil {
				t.Errorf("returned plaintext %q on failure", got)
			}
		})
	}
}

func TestGCMKeySize(t *testing.T) {
	for _, n := range []int{0, 15, 17, 24, 32} {
		if _, err := SealGCM(make([]byte, n), []byte("x"), nil); err == nil {
			t.Errorf("SealGCM accepted a %d-byte key", n)
		}
		if _, err := OpenGCM(make([]byte, n), make([]byte, 40), nil); err == nil || errors.Is(err, ErrDecrypt) {
			t.Errorf("OpenGCM with a %d-byte key: err = %v, want a key size error", n, err)
		}
	}
}

func TestSealGCMHidesPlaintext(t *testing.T) {
	plain := "110101199003074514"
	sealed, _ := SealGCM(GenerateKey(KeySize), []byte(plain), nil)
	if strings.Contains(string(sealed), plain) {
		t.Error("sealed data contains the plaintext")
	}
}

// BenchmarkSealGCM is the user-information envelope's sealing (issue 7:
// at least 50 MB/s per core): SM4-GCM with a fresh nonce, for a typical
// envelope and for 64 KB blocks.
//
//	go test -run '^$' -bench SealGCM -cpu 1 ./gm/
func BenchmarkSealGCM(b *testing.B) {
	key := GenerateKey(16)
	for _, size := range []int{256, 64 << 10} {
		msg := make([]byte, size)
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := SealGCM(key, msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
