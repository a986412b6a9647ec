package catalogue

import (
	"strings"
	"testing"

	"govmobile/models"
)

// TestRegionTable checks the embedded GB/T 2260 table: counts per level,
// codes, parents, ancestor codes and full names.
func TestRegionTable(t *testing.T) {
	regions, err := parseRegions()
	if err != nil {
		t.Fatal(err)
	}
	levels := map[models.RegionLevel]int{}
	byCode := map[string]models.Region{}
	for _, r := range regions {
		levels[r.Level]++
		if _, dup := byCode[r.Code]; dup {
			t.Fatalf("duplicate code %s", r.Code)
		}
		if len(r.Code) != 6 || strings.Trim(r.Code, "0123456789") != "" {
			t.Fatalf("bad code %q", r.Code)
		}
		byCode[r.Code] = r
	}
	if levels[models.RegionProvince] != 34 || levels[models.RegionCity] < 330 || levels[models.RegionCounty] < 2800 {
		t.Fatalf("levels: %v", levels)
	}
	for _, r := range regions {
		if r.Level == models.RegionProvince {
			if r.ParentCode != "" || r.ProvinceCode != r.Code {
				t.Fatalf("province %+v", r)
			}
			continue
		}
		p, ok := byCode[r.ParentCode]
		if !ok || r.ProvinceCode == "" || !strings.HasPrefix(r.FullName, byCode[r.ProvinceCode].Name) || !strings.HasSuffix(r.FullName, r.Name) {
			t.Fatalf("region %+v (parent %+v)", r, p)
		}
	}
	if hz := byCode["330106"]; hz.FullName != "浙江省杭州市西湖区" || hz.CityCode != "330100" || hz.ProvinceCode != "330000" {
		t.Fatalf("西湖区: %+v", hz)
	}
}

// TestDemoCatalogue checks the demo data's integrity: the 50 matters of
// SPEC §5, each with a guide, known enums, departments and themes.
func TestDemoCatalogue(t *testing.T) {
	d, err := parseDemo()
	if err != nil {
		t.Fatal(err)
	}
	depts, themes := map[string]bool{}, map[string]bool{}
	for _, dep := range d.Departments {
		depts[dep.Key] = true
	}
	for _, th := range d.Themes {
		themes[th.Key] = true
		if !th.ServiceObject.Valid() {
			t.Errorf("theme %s: service object %q", th.Key, th.ServiceObject)
		}
	}
	if len(d.Matters) != 50 || len(d.Cities) != 6 {
		t.Fatalf("%d matters, %d cities", len(d.Matters), len(d.Cities))
	}
	for _, m := range d.Matters {
		if !m.Nature.Valid() || !m.Level.Valid() || !depts[m.Department] || len(m.ServiceObjects) == 0 || len(m.Aliases) == 0 {
			t.Errorf("matter %s: nature %s level %s department %s", m.Name, m.Nature, m.Level, m.Department)
		}
		for _, th := range m.Themes {
			if !themes[th] {
				t.Errorf("matter %s: unknown theme %s", m.Name, th)
			}
		}
		g := m.guide()
		if len(g.Conditions) == 0 || len(g.Materials) == 0 || len(g.Process) == 0 || len(g.LegalBasis) == 0 || g.Process[0].Order != 1 {
			t.Errorf("matter %s: incomplete guide", m.Name)
		}
	}
	for _, c := range d.Cities {
		if len(c.Halls) == 0 {
			t.Errorf("city %s has no hall", c.Name)
		}
		for _, h := range c.Halls {
			// Mainland China's bounding box: coordinates are not swapped.
			if h.Lat < 18 || h.Lat > 54 || h.Lng < 73 || h.Lng > 135 {
				t.Errorf("hall %s at (%v, %v)", h.Name, h.Lat, h.Lng)
			}
		}
	}
}

func TestCleanKeyword(t *testing.T) {
	cases := map[string]string{
		"  公积金  ": "公积金",
		"杭州 公积金":  "杭州 公积金",
		`"[社保卡]"`: "社保卡",
		`","`:     "",
		"社保卡\\":   "社保卡",
		"a,b":     "a b",
	}
	for in, want := range cases {
		got, err := cleanKeyword(in)
		if err != nil || got != want {
			t.Errorf("cleanKeyword(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"护照\x00", "\x1b[31m", strings.Repeat("税", MaxKeywordLength+1), "\xff"} {
		if _, err := cleanKeyword(bad); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Errorf("cleanKeyword(%q): %v", bad, err)
		}
	}
}
