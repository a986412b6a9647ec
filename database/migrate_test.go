package database

import (
	"testing"
	"unicode/utf8"
)

// Every migration's name fits schema_versions.name (200 characters): SQLite
// would store a longer one, MySQL refuses it after running the migration.
func TestMigrationNamesFit(t *testing.T) {
	for i, m := range migrations {
		if n := utf8.RuneCountInString(m.name); n > 200 || n == 0 {
			t.Errorf("migration %d: name of %d characters", m.version, n)
		}
		if m.version != i+1 {
			t.Errorf("migration %d at position %d", m.version, i)
		}
	}
}
