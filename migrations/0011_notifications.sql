-- Notifications and alerts (issue 21). One row per message and channel: `key` names what is
-- told (`lead.written:<submission>`, `submission.failed:<submission>`, `alert:<condition>:<at>`),
-- so a redelivery or a replay finds the row and never tells a channel twice. No content is
-- kept here: the message travels in the notifications queue and is gone once sent.
CREATE TABLE IF NOT EXISTS notifications (
  key TEXT NOT NULL,
  channel TEXT NOT NULL,
  -- sending (claimed, lease until `lease_until`) | sent | failed (given up)
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  -- What the channel answered (status and class only, never a body).
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (key, channel)
);
-- The console's channel health: the last 24 hours per channel from a covering index (and the
-- retention purge by age), and each channel's newest row.
CREATE INDEX IF NOT EXISTS notifications_updated ON notifications (updated_at, channel, state);
CREATE INDEX IF NOT EXISTS notifications_channel ON notifications (channel, updated_at);

-- One row per alert condition: whether it fires, when it was last told (at most once an hour)
-- and what it said (counts and names only, never personal data).
CREATE TABLE IF NOT EXISTS alerts (
  condition TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  since INTEGER NOT NULL,
  told_at INTEGER NOT NULL,
  detail TEXT
);

-- Things the cron can't read from the submission log: a delivery refused because its source's
-- secret is not set (`secret-missing`, subject: the variable's name).
CREATE TABLE IF NOT EXISTS alert_signals (
  signal TEXT NOT NULL,
  subject TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_signals_at ON alert_signals (signal, at);

-- The alert cron reads the last 15 minutes of attempts (dead letters, the CRM refusing our
-- credentials) from this index, not the whole journey table.
CREATE INDEX IF NOT EXISTS submission_attempts_at ON submission_attempts (at);
