package app_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"testing"

	"govmobile/models"
	"govmobile/permission"
)

func sealPNG(t *testing.T, side int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	c := side / 2
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			if d := (x-c)*(x-c) + (y-c)*(y-c); d < c*c && d > (c-6)*(c-6) {
				img.Set(x, y, color.RGBA{R: 200, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSealImage (8.3.2 b): a seal's imprint is a real PNG within bounds,
// set by who manages the seal, served publicly with a cache validator.
func TestSealImage(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ag models.Agency
		if err := b.app.DB.Order("id DESC").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		admin := b.scopedAdmin(t, "", ag.ID, permission.ManageSeals)
		other := b.scopedAdmin(t, "", ag.ID+1, permission.ManageSeals)
		var created struct{ CreateSeal struct{ ID string } }
		b.gql(t, admin, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "行政审批专用章"}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &created)
		set := `mutation($in: SetSealImageInput!) { setSealImage(input: $in) { id imageUrl } }`
		in := func(data []byte) map[string]any {
			return map[string]any{"in": map[string]any{"sealId": created.CreateSeal.ID, "png": base64.StdEncoding.EncodeToString(data)}}
		}
		var jpg bytes.Buffer
		_ = jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 100, 100)), nil)
		expectCode(t, b.gql(t, admin, set, in(jpg.Bytes())), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, admin, set, in(sealPNG(t, 32))), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, admin, set, in(append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...))), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, admin, set, map[string]any{"in": map[string]any{"sealId": created.CreateSeal.ID, "png": "%%%"}}), models.ECodeBadUserInput)
		imprint := sealPNG(t, 240)
		expectCode(t, b.gql(t, other, set, in(imprint)), models.ECodeNotFound)
		var done struct{ SetSealImage struct{ ImageURL *string } }
		b.gql(t, admin, set, in(imprint)).decode(t, &done)
		if done.SetSealImage.ImageURL == nil {
			t.Fatalf("no image url: %+v", done)
		}
		res, err := http.Get(b.srv.URL + *done.SetSealImage.ImageURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, imprint) {
			t.Fatalf("image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		req, _ := http.NewRequest("GET", b.srv.URL+*done.SetSealImage.ImageURL, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 304 {
			t.Fatalf("revalidation: %v", err)
		}
		if st, _, _ := b.get(t, "/seals/"+gid("Seal", 999999999)+"/image"); st != 404 {
			t.Fatalf("an unknown seal's image: %d", st)
		}
	})
}
