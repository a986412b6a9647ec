package pagination

import "testing"

// FuzzDecode feeds cursor decoding arbitrary text: it never panics, and a
// cursor it accepts encodes back to one that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(Cursor{Order: "cases", ID: 42}), "cases")
	f.Add("", "cases")
	f.Add("!!!", "matters")
	f.Add(EncodeValues("matters", []string{"a", "b"}), "matters")
	f.Fuzz(func(t *testing.T, s, order string) {
		c, err := Decode(s, order)
		if err == nil {
			again, err := Decode(Encode(c), order)
			if err != nil || again != c {
				t.Fatalf("round trip of %+v: %+v %v", c, again, err)
			}
		}
		_, _ = DecodeValues(s, order, 3)
	})
}
