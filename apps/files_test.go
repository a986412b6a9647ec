package apps

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

func zipWith(t *testing.T, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		if _, err := zw.Create(fmt.Sprintf("f%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	zw.SetComment("注释")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipEntries: the count comes from walking the directory, not from the
// end record alone, so a record that understates the entries is refused.
func TestZipEntries(t *testing.T) {
	for _, n := range []int{0, 1, 300} {
		b := zipWith(t, n)
		if got, err := zipEntries(bytes.NewReader(b), int64(len(b))); err != nil || got != n {
			t.Errorf("%d entries: %d, %v", n, got, err)
		}
	}
	b := zipWith(t, 300)
	eocd := bytes.LastIndex(b, []byte{'P', 'K', 5, 6})
	lie := bytes.Clone(b)
	binary.LittleEndian.PutUint16(lie[eocd+8:], 5)
	binary.LittleEndian.PutUint16(lie[eocd+10:], 5) // says 5, holds 300
	if _, err := zipEntries(bytes.NewReader(lie), int64(len(lie))); err == nil {
		t.Error("an understated count was accepted")
	}
	z64 := bytes.Clone(b)
	binary.LittleEndian.PutUint32(z64[eocd+16:], 0xFFFFFFFF)
	if _, err := zipEntries(bytes.NewReader(z64), int64(len(z64))); err == nil {
		t.Error("a ZIP64 sentinel was accepted")
	}
	for _, junk := range [][]byte{nil, []byte("PK"), []byte("not a zip at all"), b[:len(b)/2]} {
		if _, err := zipEntries(bytes.NewReader(junk), int64(len(junk))); err == nil {
			t.Errorf("%d bytes of junk accepted", len(junk))
		}
	}
}
