-- Of the deliveries a resend run (@run_id) has to send, how many ended
-- unknown in the run it repeats (@resend_of): the API may have delivered
-- those already, and the operator is warned.
SELECT count(*)
FROM deliveries n
JOIN deliveries o ON o.run_id = @resend_of AND o.wc_id = n.wc_id
WHERE n.run_id = @run_id AND n.status = 'pending' AND o.status = 'unknown'
