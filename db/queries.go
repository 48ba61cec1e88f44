package db

import _ "embed"

// The store's SQL, one statement per file so it can be read, reviewed and
// run in psql as it is.
var (
	//go:embed sql/due_one_shots.sql
	dueOneShotsSQL string
	//go:embed sql/mark_invalid.sql
	markInvalidSQL string
	//go:embed sql/insert_run.sql
	insertRunSQL string
	//go:embed sql/insert_deliveries.sql
	insertDeliveriesSQL string
	//go:embed sql/analyze_run.sql
	analyzeRunSQL string
	//go:embed sql/complete_runs.sql
	completeRunsSQL string
	//go:embed sql/refresh_run_totals.sql
	refreshRunTotalsSQL string
	//go:embed sql/open_templates.sql
	openTemplatesSQL string
	//go:embed sql/claim.sql
	claimSQL string
	//go:embed sql/insert_attempts.sql
	insertAttemptsSQL string
	//go:embed sql/update_deliveries.sql
	updateDeliveriesSQL string
	//go:embed sql/reap.sql
	reapSQL string
	//go:embed sql/release.sql
	releaseSQL string
	//go:embed sql/outstanding.sql
	outstandingSQL string
	//go:embed sql/ensure_accounts.sql
	ensureAccountsSQL string
	//go:embed sql/account_results.sql
	accountResultsSQL string
	//go:embed sql/suppress_pending.sql
	suppressPendingSQL string
	//go:embed sql/work_mem.sql
	workMemSQL string
	//go:embed sql/listen.sql
	listenSQL string
)
