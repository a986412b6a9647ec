package cases

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"govmobile/models"
)

// sweepGrace is how old stored content must be before a sweep may remove
// it: content is stored a moment before the row naming it is written.
const sweepGrace = 24 * time.Hour

var digestName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Sweep removes stored content that no row names any more (a deleted
// draft's materials, replaced packages, uploads refused after they were
// read) once it is older than a day, and temporary files of interrupted
// uploads older than an hour. It returns how many files it removed.
func (f *Files) Sweep(ctx context.Context, now time.Time) (int, error) {
	used := map[string]bool{}
	for _, m := range []any{&models.CaseFile{}, &models.ConsultationFile{}, &models.AppFile{}} {
		var digests []string
		if err := f.db.WithContext(ctx).Model(m).Distinct("sm3").Pluck("sm3", &digests).Error; err != nil {
			return 0, err
		}
		for _, d := range digests {
			used[d] = true
		}
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		age := now.Sub(info.ModTime())
		name := e.Name()
		stale := (digestName.MatchString(name) && !used[name] && age > sweepGrace) ||
			(strings.HasPrefix(name, "upload-") && age > time.Hour)
		if stale && os.Remove(filepath.Join(f.dir, name)) == nil {
			removed++
		}
	}
	return removed, nil
}
