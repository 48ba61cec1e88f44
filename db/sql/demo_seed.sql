-- What an operator writes to start a campaign, in one statement: a template,
-- a recipient list with its members, suppressions, and a one-shot campaign due
-- now that sends to the list and to a few inline recipients.
-- $1 template name, $2 img_url, $3 content, $4 list name, $5 list members,
-- $6 suppressed wcIds, $7 inline recipients, $8 w_id, $9 campaign name.
WITH t AS (
    INSERT INTO applet_templates (name, img_url, content) VALUES ($1, $2, $3) RETURNING id
), l AS (
    INSERT INTO recipient_lists (name) VALUES ($4) RETURNING id
), m AS (
    INSERT INTO recipient_list_members (list_id, wc_id) SELECT l.id, unnest($5::text[]) FROM l
), s AS (
    INSERT INTO suppressions (wc_id, reason)
    SELECT unnest($6::text[]), 'asked not to be contacted'
    ON CONFLICT (wc_id) DO NOTHING
)
INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids)
SELECT $9, t.id, $8, $7, ARRAY[l.id] FROM t, l
RETURNING id
