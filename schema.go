// Package broadcaster holds what belongs to the product as a whole rather than
// to one technology: the database schema operators read and write with SQL.
// The code lives in campaign (domain), db (PostgreSQL), sender (the API) and
// cmd/broadcaster (the binary).
package broadcaster

import _ "embed"

// Schema is schema.sql, embedded so that `broadcaster migrate` needs nothing
// but the binary. It is idempotent: applying it again changes nothing.
//
//go:embed schema.sql
var Schema string
