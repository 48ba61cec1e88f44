package db_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sourcegraph/conc/pool"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestMigrateRepeatedAndConcurrent(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t) // migrated already: a second apply must change nothing
	conn, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty database = %d, %v; want 0, nil", v, err)
	}
	p := pool.New().WithErrors()
	for range 4 {
		p.Go(func() error {
			pl, err := pgxpool.New(ctx, url)
			if err != nil {
				return err
			}
			defer pl.Close()
			return db.Migrate(ctx, pl)
		})
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("concurrent migrations: %v", err)
	}
	if err := db.Migrate(ctx, conn); err != nil {
		t.Fatalf("repeated migration: %v", err)
	}
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1, nil", v, err)
	}
}

func TestCampaignTriggerNotifies(t *testing.T) {
	f := newFixture(t)
	conn, err := f.pool.Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(f.ctx, `LISTEN broadcaster_campaigns`); err != nil {
		t.Fatal(err)
	}
	id := f.campaign([]string{"a"})
	n, err := conn.Conn().WaitForNotification(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id" : ` + itoa(id) + `, "status" : "active", "op" : "insert"}`
	if n.Payload != want {
		t.Errorf("payload = %s, want %s", n.Payload, want)
	}
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, id)
	n, err = conn.Conn().WaitForNotification(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id" : ` + itoa(id) + `, "status" : "paused", "op" : "update"}`; n.Payload != want {
		t.Errorf("payload = %s, want %s", n.Payload, want)
	}
}
