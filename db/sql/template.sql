-- The template a campaign names, for whoever needs one campaign's template
-- (the dispatcher prepares whole runs' templates with open_templates.sql).
SELECT t.id, t.name, t.img_url, t.content
FROM campaigns c
JOIN applet_templates t ON t.id = c.template_id
WHERE c.id = @campaign_id
