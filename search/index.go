package search

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"

	"govmobile/models"
)

// mappingVersion names the index layout. An index on disk with another
// version is rebuilt from the database at start-up.
const mappingVersion = "13"

// Analyzers. cjkUnigram indexes every Han character and every pair of
// neighbours: bigrams make phrases score, unigrams let a one-character query
// (税) match, which the stock cjk analyzer (bigrams only) cannot (SPEC §7).
// Queries are analysed with the stock cjk analyzer, so a multi-character
// query matches on bigrams and is not drowned by single-character noise.
// docs/search.md records the candidates measured on the relevance set.
const (
	analyzerCJKUnigram = "cjk_unigram"
	analyzerQuery      = cjk.AnalyzerName
	analyzerPinyin     = "pinyin_keyword"
	docType            = "doc"
)

// Field names of an index document.
const (
	fieldKind     = "kind"
	fieldScopes   = "scopes"
	fieldName     = "name"
	fieldSummary  = "summary"
	fieldBody     = "body"
	fieldRegion   = "region"
	fieldPinyin   = "py"
	fieldInitials = "pyi"
	fieldNature   = "nature"
	fieldObjects  = "objects"
	fieldLevel    = "level"
	fieldAgencyID = "agency_id"
	fieldOwner    = "owner"
	// fieldCText holds a consultation's title and text: a field of its own,
	// so that private text never moves the term statistics, and so the
	// scores, of the public fields.
	fieldCText     = "ctext"
	fieldThemes    = "themes"
	fieldRegionC   = "region_code"
	fieldProvince  = "province_code"
	fieldCity      = "city_code"
	fieldOnline    = "online"
	fieldPopKey    = "pop_key"
	fieldRecentKey = "recent_key"
	fieldNameKey   = "name_key"
)

// indexDoc is what the index holds for one document. Nothing is stored but
// the ID: results are loaded from the database, so the index never holds
// more than the catalogue publishes, and stays small.
type indexDoc struct {
	Kind     string   `json:"kind"`
	Scopes   []string `json:"scopes"`
	Name     []string `json:"name"`    // the name, then the aliases
	Summary  []string `json:"summary"` // the summary, then the agency's name
	Body     string   `json:"body"`
	Region   string   `json:"region"`
	Pinyin   []string `json:"py"`
	Initials []string `json:"pyi"`
	Nature   string   `json:"nature"`
	Objects  []string `json:"objects"`
	Level    string   `json:"level"`
	AgencyID string   `json:"agency_id"`
	Owner    string   `json:"owner"`
	CText    []string `json:"ctext"`
	Themes   []string `json:"themes"`
	RegionC  string   `json:"region_code"`
	Province string   `json:"province_code"`
	City     string   `json:"city_code"`
	Online   string   `json:"online"`
	// Sort keys: each order's value followed by the document ID, so one
	// doc-value field orders results totally (see sortKeys).
	PopKey    string `json:"pop_key"`
	RecentKey string `json:"recent_key"`
	NameKey   string `json:"name_key"`
}

// BleveType tells bleve which document mapping applies.
func (indexDoc) BleveType() string { return docType }

// newMapping builds the index mapping, indexing text with textAnalyzer.
func newMapping(textAnalyzer string) (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomTokenFilter("cjk_bigram_unigram", map[string]any{
		"type": cjk.BigramName, "output_unigram": true,
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerCJKUnigram, map[string]any{
		"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{cjk.WidthName, lowercase.Name, "cjk_bigram_unigram"},
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomAnalyzer(analyzerPinyin, map[string]any{
		"type": custom.Name, "tokenizer": "single", "token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, err
	}
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, false, false
		return f
	}
	// The guide text is most of every document: bigrams only (the stock
	// cjk analyzer) cut the 100k-matter build by a third; a one-character
	// query still finds names, aliases and summaries, not guide text.
	bodyText := func() *mapping.FieldMapping {
		f := text()
		if textAnalyzer == analyzerCJKUnigram {
			f.Analyzer = cjk.AnalyzerName
		}
		return f
	}
	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, false, docValues
		return f
	}
	py := func() *mapping.FieldMapping {
		f := kw(false)
		f.Analyzer = analyzerPinyin
		return f
	}
	doc := bleve.NewDocumentStaticMapping()
	for name, f := range map[string]*mapping.FieldMapping{
		fieldKind: kw(false), fieldScopes: kw(true),
		fieldName: text(), fieldSummary: text(), fieldBody: bodyText(), fieldCText: text(),
		fieldRegion: text(),
		fieldPinyin: py(), fieldInitials: py(),
		fieldNature: kw(false), fieldObjects: kw(false), fieldLevel: kw(false),
		fieldAgencyID: kw(false), fieldOwner: kw(false), fieldThemes: kw(false),
		fieldRegionC: kw(false), fieldProvince: kw(false), fieldCity: kw(false),
		fieldOnline: kw(false), fieldPopKey: kw(true), fieldRecentKey: kw(true), fieldNameKey: kw(true),
	} {
		doc.AddFieldMappingsAt(name, f)
	}
	im.AddDocumentMapping(docType, doc)
	im.DefaultMapping = bleve.NewDocumentDisabledMapping()
	im.DefaultAnalyzer = keyword.Name
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

// docID is the index's ID of an entity: "MATTER:42".
func docID(kind models.SearchDocKind, id uint64) string {
	return string(kind) + ":" + strconv.FormatUint(id, 10)
}

// sortKey is a sort field's value: v, then a NUL, which sorts before every
// character (护照 before 护照办理), then the document in short form (the
// kind's initial and the ID in base 36).
func sortKey(v string, kind models.SearchDocKind, id uint64) string {
	return v + "\x00" + string(kind)[:1] + strconv.FormatUint(id, 36)
}

// numberKey is a number as fixed-width base-36 text, which sorts as the
// number does (0-9 before a-z). Eight digits hold up to 2.8 × 10¹²: any
// popularity, and Unix times for the next 80,000 years. Keys are short
// because every match's key is read to sort it.
func numberKey(n int64) string {
	const width, limit = 8, 2821109907455 // 36⁸ - 1
	return fmt.Sprintf("%0*s", width, strconv.FormatInt(min(max(n, 0), limit), 36))
}

// validSortKey reports whether key ends with a document as sortKey writes it.
func validSortKey(key string) bool {
	i := strings.LastIndexByte(key, 0)
	if i < 0 || len(key) < i+3 {
		return false
	}
	for _, k := range indexedKinds {
		if key[i+1] == k[0] {
			_, err := strconv.ParseUint(key[i+2:], 36, 64)
			return err == nil
		}
	}
	return false
}

func parseDocID(s string) (models.SearchDocKind, uint64, bool) {
	for _, k := range indexedKinds {
		if len(s) > len(k)+1 && s[:len(k)] == string(k) && s[len(k)] == ':' {
			id, err := strconv.ParseUint(s[len(k)+1:], 10, 64)
			return k, id, err == nil
		}
	}
	return "", 0, false
}

// Internal keys kept inside the index, written in the same batch as the
// documents they describe.
var (
	keyMapping    = []byte("govmobile.mapping")
	keyCheckpoint = []byte("govmobile.outbox_checkpoint")
	keySyncedAt   = []byte("govmobile.synced_at")
)

// openIndex opens the index at path. It reports errMissing when there is none
// and errStale when it was built by another mapping version; any other error
// means the index is unreadable.
func openIndex(path string) (bleve.Index, error) {
	if _, err := os.Stat(filepath.Join(path, "index_meta.json")); errors.Is(err, os.ErrNotExist) {
		return nil, errMissing
	}
	// Another process holding the index (a running server while `reindex`
	// runs) makes the open wait; give up soon and say so.
	idx, err := bleve.OpenUsing(path, map[string]any{"bolt_timeout": "2s"})
	if err != nil {
		return nil, fmt.Errorf("open search index %s: %w", path, err)
	}
	v, err := idx.GetInternal(keyMapping)
	if err != nil || string(v) != mappingVersion {
		_ = idx.Close()
		return nil, errStale
	}
	return idx, nil
}

var (
	errMissing = errors.New("search index missing")
	errStale   = errors.New("search index built by another version")
)

// createIndex makes an empty index at path, replacing whatever is there.
func createIndex(path, textAnalyzer string) (bleve.Index, error) {
	if err := os.RemoveAll(path); err != nil {
		return nil, err
	}
	m, err := newMapping(textAnalyzer)
	if err != nil {
		return nil, err
	}
	idx, err := bleve.New(path, m)
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	if err := idx.SetInternal(keyMapping, []byte(mappingVersion)); err != nil {
		_ = idx.Close()
		return nil, err
	}
	return idx, nil
}

func readCheckpoint(idx bleve.Index) (uint64, time.Time) {
	var cp uint64
	var at time.Time
	if v, err := idx.GetInternal(keyCheckpoint); err == nil && v != nil {
		cp, _ = strconv.ParseUint(string(v), 10, 64)
	}
	if v, err := idx.GetInternal(keySyncedAt); err == nil && v != nil {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			at = time.Unix(n, 0)
		}
	}
	return cp, at
}
