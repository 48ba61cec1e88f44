-- 5. Changing a campaign while it runs. Running daemons are notified of
-- every change to a campaign row and act on it within seconds.

-- Pause: no more sends; its deliveries stay pending.
UPDATE campaigns SET status = 'paused' WHERE name = 'vip nightly' AND status = 'active';

-- Resume: sending picks up where it stopped.
UPDATE campaigns SET status = 'active' WHERE name = 'vip nightly' AND status = 'paused';

-- Cancel: for good. Its pending deliveries become skipped, and a recurring
-- campaign never fires again.
UPDATE campaigns SET status = 'cancelled'
WHERE name = 'flash sale' AND status IN ('active', 'paused');

-- The bot logged in again and has a new wId: move its campaigns to it.
-- Deliveries not sent yet go out from the new wId, even mid-run.
UPDATE campaigns SET w_id = '0000016f-78bd-21c8-0002-5a1b0c9d8e7f'
WHERE w_id = '0000016f-78bd-21c8-0001-29c4d004ae46' AND status IN ('active', 'paused');

-- A campaign marked invalid says why in campaigns.error
-- (SELECT id, name, error FROM campaigns WHERE status = 'invalid').
-- Once its template or row is fixed, activate it again:
UPDATE campaigns SET status = 'active', error = NULL
WHERE name = 'vip nightly' AND status = 'invalid';
