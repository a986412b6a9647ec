package gm

import (
	"bytes"
	"testing"
)

// FuzzOpenGCM feeds the envelope opener arbitrary sealed bytes and keys: it
// never panics, opens only what was sealed under the key (with its
// additional data), and opens that exactly.
func FuzzOpenGCM(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 16)
	sealed, _ := SealGCM(key, []byte("用户信息"), []byte("aad"))
	f.Add(key, sealed, []byte("aad"))
	f.Add(key, []byte{}, []byte{})
	f.Add([]byte("short"), sealed, []byte("aad"))
	f.Fuzz(func(t *testing.T, k, data, aad []byte) {
		plain, err := OpenGCM(k, data, aad)
		if err == nil && !(bytes.Equal(k, key) && bytes.Equal(data, sealed) && bytes.Equal(aad, []byte("aad"))) {
			// Anything else opening means a forgery got through: only
			// possible with the right key (then it is a sealing of ours).
			if len(k) != 16 {
				t.Fatalf("opened with a %d-byte key", len(k))
			}
			again, err := SealGCM(k, plain, aad)
			if err != nil || len(again) != len(data) {
				t.Fatalf("opened something not shaped like a sealing: %v", err)
			}
		}
		if len(k) == 16 {
			s, err := SealGCM(k, data, aad)
			if err != nil {
				t.Fatal(err)
			}
			p, err := OpenGCM(k, s, aad)
			if err != nil || !bytes.Equal(p, data) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
