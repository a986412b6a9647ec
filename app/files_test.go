package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"govmobile/models"
)

// pdfBytes is the start of a PDF, enough for content sniffing.
var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")

// pngBytes is a PNG signature and header chunk, enough for content sniffing.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 17)...)

type uploadResult struct {
	Status int
	ID     string `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"contentType"`
	Size   int64  `json:"size"`
	SM3    string `json:"sm3"`
	Errors []gqlError
}

func (b *backend) upload(t *testing.T, ticket, caseID, name string, content []byte) uploadResult {
	t.Helper()
	return b.uploadTo(t, ticket, "caseId", caseID, name, content)
}

// uploadTo posts a file with the form field naming what it belongs to
// (caseId or consultationId).
func (b *backend) uploadTo(t *testing.T, ticket, field, id, name string, content []byte) uploadResult {
	t.Helper()
	fields := [][2]string{}
	if id != "" {
		fields = append(fields, [2]string{field, id})
	}
	return b.postFile(t, ticket, "/files", fields, name, content)
}

// postFile posts a multipart form of the given fields, in order, then the
// file.
func (b *backend) postFile(t *testing.T, ticket, path string, fields [][2]string, name string, content []byte) uploadResult {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res := send(t, req, ticket)
	defer res.Body.Close()
	out := uploadResult{Status: res.StatusCode}
	json.NewDecoder(res.Body).Decode(&out)
	return out
}

// send sends req with the ticket, if any.
func send(t *testing.T, req *http.Request, ticket string) *http.Response {
	t.Helper()
	if ticket != "" {
		req.Header.Set("Authorization", "Bearer "+ticket)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (b *backend) download(t *testing.T, ticket, id string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/files/"+id, nil)
	res := send(t, req, ticket)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func TestCaseMaterials(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id DESC").Offset(2).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		fay := b.register(t, person(t)).Ticket
		var d struct{ SaveApplicationDraft struct{ Case caseOut } }
		b.gql(t, fay, `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &d)
		caseID := d.SaveApplicationDraft.Case.ID

		up := b.upload(t, fay, caseID, `..\..\身份证正面.pdf`, pdfBytes)
		if up.Status != 200 || up.Type != "application/pdf" || up.Size != int64(len(pdfBytes)) || len(up.SM3) != 64 || up.Name != "身份证正面.pdf" {
			t.Fatalf("upload: %+v", up)
		}
		// The type is the content's, not the name's; sizes and types are bounded.
		for _, c := range []struct {
			name    string
			content []byte
			code    string
		}{
			{"script.pdf", []byte("<html><script>alert(1)</script></html>"), models.ECodeBadUserInput},
			{"empty.pdf", nil, models.ECodeBadUserInput},
			{"big.pdf", append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("0"), 10<<20)...), models.ECodeBadUserInput},
		} {
			if r := b.upload(t, fay, caseID, c.name, c.content); r.Status < 400 || len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != c.code {
				t.Fatalf("%s: %+v", c.name, r)
			}
		}
		if r := b.upload(t, "", caseID, "a.pdf", pdfBytes); r.Status != 401 {
			t.Fatalf("anonymous upload: %+v", r)
		}
		gus := b.register(t, person(t)).Ticket
		if r := b.upload(t, gus, caseID, "a.pdf", pdfBytes); r.Status != 404 {
			t.Fatalf("upload to another user's case: %+v", r)
		}

		res, body := b.download(t, fay, up.ID)
		if res.StatusCode != 200 || !bytes.Equal(body, pdfBytes) || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
			res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("download: %d %v", res.StatusCode, res.Header)
		}
		if res, _ := b.download(t, gus, up.ID); res.StatusCode != 404 {
			t.Fatalf("another user downloads: %d", res.StatusCode)
		}
		if res, _ := b.download(t, "", up.ID); res.StatusCode != 401 {
			t.Fatalf("anonymous download: %d", res.StatusCode)
		}
		// The agency's staff may fetch it once the case is submitted.
		staff := b.staffTicket(t, m.AgencyID)
		if res, _ := b.download(t, staff, up.ID); res.StatusCode != 404 {
			t.Fatalf("staff read a draft's material: %d", res.StatusCode)
		}
		var sub struct {
			SubmitApplication struct {
				Case struct {
					Materials []struct{ ID, Name, DownloadURL string }
				}
			}
		}
		b.gql(t, fay, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { materials { id name downloadUrl } } } }`,
			map[string]any{"in": map[string]any{"caseId": caseID}}).decode(t, &sub)
		if ms := sub.SubmitApplication.Case.Materials; len(ms) != 1 || ms[0].ID != up.ID || ms[0].DownloadURL != "/files/"+up.ID {
			t.Fatalf("materials: %+v", sub)
		}
		if res, body := b.download(t, staff, up.ID); res.StatusCode != 200 || !bytes.Equal(body, pdfBytes) {
			t.Fatalf("staff download: %d", res.StatusCode)
		}
		// The staff's download is audit-logged (SPEC §4: clear reads).
		var logs struct {
			AuditLogs struct {
				Edges []struct{ Node struct{ Arguments string } }
			}
		}
		b.gql(t, b.adminTicket(t), `{ auditLogs(operation: "read:file", first: 100) { edges { node { arguments } } } }`, nil).decode(t, &logs)
		audited := false
		for _, e := range logs.AuditLogs.Edges {
			audited = audited || strings.Contains(e.Node.Arguments, up.ID)
		}
		if !audited {
			t.Fatalf("the staff's download of %s is not in the audit log: %+v", up.ID, logs)
		}
		if res, _ := b.download(t, b.staffTicket(t, m.AgencyID+1_000_000), up.ID); res.StatusCode != 404 {
			t.Fatalf("another agency's staff download: %d", res.StatusCode)
		}
		// An account of the agency without the case-handling permission
		// sees nothing either.
		bare := b.staffTicket(t, m.AgencyID)
		if err := b.app.DB.Exec("DELETE FROM admin_roles WHERE admin_id = (SELECT admin_id FROM admin_tickets ORDER BY id DESC LIMIT 1)").Error; err != nil {
			t.Fatal(err)
		}
		if res, _ := b.download(t, bare, up.ID); res.StatusCode != 404 {
			t.Fatalf("an agency account without cases.handle downloads: %d", res.StatusCode)
		}
		if res, _ := b.download(t, fay, "not-an-id"); res.StatusCode != 400 {
			t.Fatalf("bad id: %d", res.StatusCode)
		}
	})
}
