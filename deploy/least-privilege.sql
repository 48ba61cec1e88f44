-- A database role for broadcaster that can do its work and nothing else.
-- Run as a superuser or the database owner, after `broadcaster migrate` has
-- created the tables (migrate itself needs the owner's rights).
CREATE ROLE broadcaster_app LOGIN PASSWORD 'CHANGE-ME';
GRANT CONNECT ON DATABASE broadcaster TO broadcaster_app;
GRANT USAGE ON SCHEMA public TO broadcaster_app;
-- Operators' tables: broadcaster reads them and updates statuses.
GRANT SELECT ON applet_templates, recipient_lists, recipient_list_members, suppressions TO broadcaster_app;
GRANT SELECT, UPDATE ON campaigns TO broadcaster_app;
-- Its own tables.
GRANT SELECT, INSERT, UPDATE ON campaign_runs, deliveries, delivery_attempts, sending_accounts TO broadcaster_app;
GRANT SELECT ON schema_version, campaign_run_summary TO broadcaster_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO broadcaster_app;
