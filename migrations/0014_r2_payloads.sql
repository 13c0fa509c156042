-- Payloads in R2 (README "Where things are kept"): a submission's raw input lives in the R2
-- bucket under this key (payloads/<id>), not in the row. Rows from before keep `payload` and
-- are read as they are until the daily cron moves them.
ALTER TABLE submissions ADD COLUMN payload_key TEXT;
-- The rows still holding a D1 payload, for the daily cron's move to R2: without this it would
-- read the whole log each day to find none.
CREATE INDEX IF NOT EXISTS submissions_d1_payload ON submissions (id) WHERE payload IS NOT NULL;
