// Package broadcaster holds what belongs to the product as a whole rather than
// to one technology: the database schema operators read and write with SQL.
// The code lives in campaign (domain), db (PostgreSQL), sender (the API) and
// cmd/broadcaster (the binary).
package broadcaster

import "embed"

// Schema is schema.sql, the whole schema in one readable file. It is
// generated from the migrations (`make schema`), and a test keeps the two
// equal; databases are created and upgraded only by the migrations.
//
//go:embed schema.sql
var Schema string

// MigrationFiles holds the numbered migrations, migrations/NNNN_name.sql,
// which `broadcaster migrate` applies in order. They are embedded, so the
// binary needs nothing beside it.
//
//go:embed migrations/*.sql
var MigrationFiles embed.FS
