package exchange

import (
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
	"govmobile/search"
)

// batch is how many rows one INSERT writes.
const batch = 250

// padded splits xs into chunks for `IN ?`, each padded (by repeating its
// last element) to one of a few fixed lengths, as database.Padded does for
// IDs: prepared statements then come in a few shapes.
func padded[T any](xs []T) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(xs) > 0 {
			n := min(len(xs), 500)
			size := 500
			for _, s := range []int{1, 8, 64, 500} {
				if n <= s {
					size = s
					break
				}
			}
			chunk := make([]T, size)
			copy(chunk, xs[:n])
			for i := n; i < size; i++ {
				chunk[i] = xs[n-1]
			}
			if !yield(chunk) {
				return
			}
			xs = xs[n:]
		}
	}
}

// fold is a code as MySQL's case-insensitive collation compares it; a
// file's codes are compared the same way on every database.
func fold(s string) string { return strings.ToUpper(s) }

// byCode indexes records by code, exactly and folded.
type byCode[T any] struct {
	exact  map[string]T
	folded map[string]string
}

func newByCode[T any]() *byCode[T] {
	return &byCode[T]{exact: map[string]T{}, folded: map[string]string{}}
}

func (b *byCode[T]) add(code string, v T) {
	b.exact[code] = v
	b.folded[fold(code)] = code
}

// find returns the record with the code; near is an existing code that
// differs from it only in case.
func (b *byCode[T]) find(code string) (v T, ok bool, near string) {
	if v, ok = b.exact[code]; ok {
		return v, true, ""
	}
	return v, false, b.folded[fold(code)]
}

// loadByCode reads the rows of model T whose code is one of codes.
func loadByCode[T any](q *gorm.DB, codes []string, code func(*T) string) (*byCode[*T], error) {
	out := newByCode[*T]()
	slices.Sort(codes)
	codes = slices.Compact(codes)
	base := q.Session(&gorm.Session{})
	for chunk := range padded(codes) {
		var rows []*T
		if err := base.Where("code IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out.add(code(r), r)
		}
	}
	return out, nil
}

// region is what an import needs of a region.
type region struct {
	Code, ProvinceCode, CityCode string
}

func loadRegions(q *gorm.DB) (map[string]region, error) {
	var rows []region
	if err := q.Model(&models.Region{}).Select("code", "province_code", "city_code").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]region, len(rows))
	for _, r := range rows {
		out[r.Code] = r
	}
	return out, nil
}

// hallKey names a hall: halls have no code, and are told apart by region
// and name.
type hallKey struct {
	RegionCode string `json:"regionCode"`
	Name       string `json:"name"`
}

func (k hallKey) String() string { return k.RegionCode + ":" + k.Name }

// loadHalls reads the halls of the regions, by key.
func loadHalls(q *gorm.DB, regionCodes []string) (map[hallKey][]*models.Hall, error) {
	slices.Sort(regionCodes)
	regionCodes = slices.Compact(regionCodes)
	out := map[hallKey][]*models.Hall{}
	for chunk := range padded(regionCodes) {
		var rows []*models.Hall
		if err := q.Where("region_code IN ?", chunk).Order("id").Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, h := range rows {
			k := hallKey{h.RegionCode, h.Name}
			out[k] = append(out[k], h)
		}
	}
	return out, nil
}

// upsertByID writes rows that exist, by primary key: one INSERT … ON
// CONFLICT (id) DO UPDATE (ON DUPLICATE KEY UPDATE on MySQL) per batch.
func upsertByID[T any](tx *gorm.DB, rows []*T, columns ...string) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns(columns),
	}).CreateInBatches(rows, batch).Error
}

func createInBatches[T any](tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, batch).Error
}

// enqueue queues entities for the search index.
func enqueue(tx *gorm.DB, kind models.SearchDocKind, ids []uint64) error {
	for i := 0; i < len(ids); i += 500 {
		if err := search.Enqueue(tx, kind, ids[i:min(i+500, len(ids))]...); err != nil {
			return err
		}
	}
	return nil
}

// deleteLinks removes the link rows (matter_themes, matter_halls) of the
// matters.
func deleteLinks(tx *gorm.DB, model any, matterIDs []uint64) error {
	for chunk := range database.Padded(matterIDs) {
		if err := tx.Where("matter_id IN ?", chunk).Delete(model).Error; err != nil {
			return err
		}
	}
	return nil
}

func sameSet(a, b []uint64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
