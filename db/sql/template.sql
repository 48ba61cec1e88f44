SELECT t.id, t.name, t.img_url, t.content
FROM campaigns c
JOIN applet_templates t ON t.id = c.template_id
WHERE c.id = $1
