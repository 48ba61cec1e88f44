package main

import (
	"context"
	"fmt"
)

// runCheck validates what can be validated without sending: configuration
// (already loaded by now), the database and its schema.
func runCheck(ctx context.Context, a *app, args []string) error {
	fs := a.flags("check", "")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if err := a.cfg.RequireAPI(); err != nil {
		return err
	}
	_, closeDB, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	fmt.Fprintln(a.stdout, "ok: configuration, database and schema")
	return nil
}
