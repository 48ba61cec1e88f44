-- Records a migration as applied, in the transaction that applied it.
INSERT INTO broadcaster_migrations (version, name, checksum, breaks_older)
VALUES (@version, @name, @checksum, @breaks_older)
