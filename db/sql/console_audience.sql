-- How many recipients a run of campaign @id created now would have, as
-- insert_deliveries.sql resolves them: inline ∪ list members, de-duplicated,
-- minus suppressions. Reads only that campaign's lists.
SELECT count(*)
FROM (
    SELECT x AS wc_id FROM campaigns c, unnest(c.recipients) AS x WHERE c.id = @id
    UNION
    SELECT m.wc_id FROM campaigns c JOIN recipient_list_members m ON m.list_id = ANY (c.list_ids) WHERE c.id = @id
) a
WHERE NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.wc_id = a.wc_id)
