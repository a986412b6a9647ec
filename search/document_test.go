package search

import (
	"strings"
	"testing"

	"govmobile/models"
)

// A consultation's text reaches the index with runs of digits (phones,
// identity numbers) masked, and under its author and agency only.
func TestConsultationDocumentsMaskDigits(t *testing.T) {
	x := (&Service{}).toIndexDoc(Document{Kind: models.DocConsultation, ID: 7, Name: "电话 139-1234-5678 打不通",
		Summary: "我的身份证 330106198501010011 办不了，电话139.1234.5678或１３９１２３４５６７８", AgencyID: 3, OwnerID: 9})
	all := strings.Join(append(append(append([]string{}, x.Name...), x.Summary...), x.CText...), " ")
	for _, clear := range []string{"1234", "5678", "330106", "0011", "１２３４"} {
		if strings.Contains(all, clear) {
			t.Fatalf("indexed text holds %q: %s", clear, all)
		}
	}
	if !strings.Contains(all, maskedDigits) || len(x.Name) != 0 || len(x.Summary) != 0 || x.Owner != "9" || x.AgencyID != "3" || len(x.Scopes) != 1 || x.Scopes[0] != scopeConsultation {
		t.Fatalf("document: %+v", x)
	}
}
