-- The submission log: one row per accepted submission, and what became of it.
-- Personal data: none but `payload` (the queued lead, kept only while it may
-- need a replay; cleared once written). Rows are purged after
-- SUBMISSION_RETENTION_DAYS (default 30) by the daily cron.
CREATE TABLE IF NOT EXISTS submissions (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,          -- epoch ms
  updated_at INTEGER NOT NULL,
  source TEXT NOT NULL,                  -- form | typeform | stripe
  form TEXT NOT NULL,                    -- form id, Typeform form id, Stripe event type
  key_hash TEXT,                         -- SHA-256 of the dedup key, never the address itself
  state TEXT NOT NULL,                   -- queued | retrying | written | failed | ignored | duplicate-delivery | spam
  attempts INTEGER NOT NULL DEFAULT 0,
  crm_lead_id TEXT,
  action TEXT,                           -- created | updated | unchanged
  last_error TEXT,
  payload TEXT
);
CREATE INDEX IF NOT EXISTS submissions_state_received ON submissions (state, received_at);
CREATE INDEX IF NOT EXISTS submissions_received ON submissions (received_at);
