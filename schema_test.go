package broadcaster_test

import (
	"flag"
	"io/fs"
	"os"
	"strings"
	"testing"

	broadcaster "github.com/broadcaster/broadcaster"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite schema.sql from the migrations")

// schemaHeader opens the generated schema.sql.
const schemaHeader = `-- broadcaster schema: the whole of it, in one file, for reading.
--
-- GENERATED from migrations/*.sql by ` + "`make schema`" + `: do not edit; a test keeps
-- it equal. Databases are created and upgraded only by ` + "`broadcaster migrate`" + `,
-- which applies the numbered migrations below in order, each once, and
-- records them in broadcaster_migrations.
`

// wholeSchema is schema.sql as the migrations make it: each file in order
// under a line naming it.
func wholeSchema(t *testing.T) string {
	t.Helper()
	names, err := fs.Glob(broadcaster.MigrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(schemaHeader)
	for _, name := range names {
		sql, err := fs.ReadFile(broadcaster.MigrationFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n-- ==== " + name + " ====\n\n")
		b.Write(sql)
	}
	return b.String()
}

// schema.sql is generated from the migrations, so that it can never tell a
// reader something the database does not hold.
func TestSchemaSQLIsGeneratedFromMigrations(t *testing.T) {
	want := wholeSchema(t)
	if *updateSchema {
		if err := os.WriteFile("schema.sql", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if broadcaster.Schema != want {
		t.Error("schema.sql differs from the migrations: run `make schema` (go test . -run TestSchemaSQL -update-schema)")
	}
}
