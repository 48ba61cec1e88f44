package db_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestIdentityTellsDatabasesApart(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	a, err := db.NewStore(pool, "t:1").Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if same, err := db.NewStore(pool, "t:3").Identity(ctx); same != a || err != nil {
		t.Errorf("one database, two identities: %q and %q (%v)", a, same, err)
	}
	again, err := db.NewStore(dbtest.New(t), "t:2").Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+/\S+$`).MatchString(a) || a == again {
		t.Errorf("identities %q and %q: want system_identifier/database, different for two databases", a, again)
	}
}
