UPDATE campaigns SET status = 'invalid', error = $2
WHERE id = $1 AND status = 'active'
