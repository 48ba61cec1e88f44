// Package campaign is broadcaster's domain: campaigns, runs, deliveries and
// attempts, their statuses, template validation and rendering, and the
// services that turn due campaigns into runs and runs into sendApplet calls.
//
// It knows nothing of PostgreSQL or HTTP. It states what it needs as small
// interfaces — Store, Sender, Clock — which the db and sender packages
// implement, so the scheduling and dispatch logic can be tested with fakes and
// a fake clock, and run for real against pgx and net/http.
package campaign
