-- What an operator writes to start a campaign, in one statement: a template,
-- a recipient list with its members, suppressions, and a one-shot campaign due
-- now that sends to the list and to a few inline recipients.
WITH t AS (
    INSERT INTO applet_templates (name, img_url, content) VALUES (@template_name, @img_url, @content) RETURNING id
), l AS (
    INSERT INTO recipient_lists (name) VALUES (@list_name) RETURNING id
), m AS (
    INSERT INTO recipient_list_members (list_id, wc_id) SELECT l.id, unnest(@members::text[]) FROM l
), s AS (
    INSERT INTO suppressions (wc_id, reason)
    SELECT unnest(@suppressed::text[]), 'asked not to be contacted'
    ON CONFLICT (wc_id) DO NOTHING
)
INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids)
SELECT @campaign_name, t.id, @w_id, @recipients, ARRAY[l.id] FROM t, l
RETURNING id
