-- Re-sending a run's failures (`broadcaster resend`, SPEC §3): a resend is a
-- new run of the same campaign, for exactly the recipients of the run it
-- repeats (resend_of) whose delivery ended failed and/or unknown.
--
-- Expand only: new columns, an index, a view and a function the previous
-- release ignores (its queries never see resend_of, so they treat a resend
-- run as an ordinary one: it is sent while the campaign is active).

-- The run a resend repeats; NULL for a run made by the scheduler.
-- render_date_of is the instant its {{date}} renders from: the first run's
-- scheduled_for, so that a resend (of a resend…) renders as the original
-- did although its own scheduled_for is the time of the request. NULL: the
-- run's own scheduled_for.
ALTER TABLE campaign_runs
    ADD COLUMN resend_of bigint NULL REFERENCES campaign_runs (id) ON DELETE SET NULL,
    ADD COLUMN render_date_of timestamptz NULL;

-- Finds the resend of a run (one at most: resend refuses a second), and
-- reports' link back. Partial: almost every run is not a resend.
CREATE INDEX campaign_runs_resend_of_idx ON campaign_runs (resend_of)
    WHERE resend_of IS NOT NULL;
-- The open resend runs, which let a completed campaign send (below).
CREATE INDEX campaign_runs_open_resend_idx ON campaign_runs (campaign_id)
    WHERE resend_of IS NOT NULL AND status IN ('pending', 'running');

-- The campaigns whose pending deliveries may be sent now: the active ones,
-- and the completed ones that have an open resend run (a resend of a
-- finished campaign still goes out; a paused, cancelled or invalid one sends
-- nothing). The one home of that rule for every query that gates sending:
-- claims, what is left to send, templates to prepare, pacing rows, progress.
-- Through broadcaster, a completed campaign has no open run but its
-- resends: a one-shot completes with its run, a recurring one only when no
-- run is open.
CREATE VIEW sending_campaigns AS
SELECT c.id, c.w_id, c.template_id, c.status
FROM campaigns c
WHERE c.status = 'active'
UNION ALL
SELECT c.id, c.w_id, c.template_id, c.status
FROM campaigns c
WHERE c.status = 'completed'
  AND c.id IN (SELECT r.campaign_id FROM campaign_runs r
               WHERE r.resend_of IS NOT NULL AND r.status IN ('pending', 'running'));
