-- Names this database for the results journal, which must never be replayed
-- into another one (its delivery ids would hit unrelated deliveries): the
-- cluster's system identifier, which a promoted standby keeps, and the
-- database's name. pg_control_system() needs no special right.
SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database()
