package main

import (
	"context"

	"github.com/broadcaster/broadcaster/db"
)

func runMigrate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("migrate", "")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	pool, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	a.log.Info().Int("schema_version", v).Msg("database migrated")
	return nil
}
