-- The campaigns `broadcaster check` examines, with their templates: those
-- that will or may still send (active, paused) and those marked invalid,
-- which were meant to send and did not.
SELECT c.id, c.name, c.w_id, coalesce(c.schedule, ''), c.start_at, c.end_at, c.status,
       t.id, t.name, t.img_url, t.content,
       coalesce(c.error, '')
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
WHERE c.status IN ('active', 'paused', 'invalid')
ORDER BY c.id
