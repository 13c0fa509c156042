-- A submission written with warnings (wave 3: CRMs as they are): a field the CRM refused
-- or does not keep, an event it would not take, an update it can't make. `warnings` is a
-- JSON array of sentences, each saying which field, what happened and where its value
-- went (never a value of the submission); `warned` their number. NULL: no warnings.
ALTER TABLE submissions ADD COLUMN warnings TEXT;
ALTER TABLE submissions ADD COLUMN warned INTEGER;
-- The console's "at a glance" counts warned submissions per source over a day from this
-- small index alone.
CREATE INDEX IF NOT EXISTS submissions_warned ON submissions (received_at, source, warned) WHERE warned IS NOT NULL;
