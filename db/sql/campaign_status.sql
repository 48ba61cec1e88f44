-- A campaign's status, locked until the transaction ends, so that an
-- operator's change is judged against the status it replaces.
SELECT status FROM campaigns WHERE id = @id FOR UPDATE
