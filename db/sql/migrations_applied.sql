-- The applied migrations, oldest first.
SELECT version, name, checksum, breaks_older, applied_at
FROM broadcaster_migrations
ORDER BY version
