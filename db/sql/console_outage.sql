-- The global pause of sending (SPEC §6) for the console's Now page: since
-- when and until when. last_error is left out: it may name the API's
-- address, which no page shows.
SELECT since, paused_until
FROM api_outage
