package broadcaster_test

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m, dbtest.WithMigrate(db.Migrate)) }

// Every SQL block in the README runs, in order, on a migrated database, and
// leaves what the text says it does.
func TestREADMESQLRuns(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d SQL blocks in the README", len(blocks))
	}
	ctx := context.Background()
	pool := dbtest.New(t)
	for i, b := range blocks {
		if _, err := pool.Exec(ctx, b[1]); err != nil {
			t.Fatalf("README SQL block %d: %v\n%s", i+1, err, b[1])
		}
	}
	var got string
	err = pool.QueryRow(ctx, `SELECT string_agg(name || ':' || status || ':' || coalesce(schedule, '-'), ', ' ORDER BY id) FROM campaigns`).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "spring sale:active:-, vip nightly:cancelled:CRON_TZ=Asia/Shanghai 0 2 * * *"; got != want {
		t.Errorf("campaigns after the README's SQL: %s, want %s", got, want)
	}
	// The pause, resume and cancel above, made with SQL, are in audit_log.
	var audit string
	err = pool.QueryRow(ctx, `SELECT string_agg(action || ':' || credential || ':' || (who = current_user)::text, ', ' ORDER BY id) FROM audit_log`).Scan(&audit)
	if err != nil {
		t.Fatal(err)
	}
	if want := "pause:sql:true, resume:sql:true, cancel:sql:true"; audit != want {
		t.Errorf("audit_log after the README's SQL: %s, want %s", audit, want)
	}
	var members int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM recipient_list_members`).Scan(&members); err != nil || members != 3 {
		t.Errorf("list members = %d, %v; want 3", members, err)
	}
}
