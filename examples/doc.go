// Package examples is the SQL cookbook: how operators drive broadcaster with
// plain SQL. The numbered files set up templates, recipients and campaigns
// and change them (run them in order with psql -f, or paste them); the
// audit_*.sql files are single queries for reports. The package's test
// executes every file against a fresh database and checks what each one
// does, so the cookbook cannot drift from the schema.
package examples
