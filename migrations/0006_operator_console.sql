-- The operator console: find a person's submissions by any of their identifiers,
-- follow one submission's journey attempt by attempt, page through the log
-- newest first at any size, and keep a record of what the operator did.

-- Every identifier a submission brought (each email, phone and source id), as the
-- keyed hash the identity ledger uses (HMAC-SHA256 with HASH_SECRET), never the
-- identifier. Written by the consumer with each outcome. `received_at` is the
-- submission's, so one person's submissions come newest first from the index.
CREATE TABLE IF NOT EXISTS submission_keys (
  submission_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  received_at INTEGER NOT NULL,          -- epoch ms, as submissions.received_at
  PRIMARY KEY (submission_id, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS submission_keys_hash ON submission_keys (hash, received_at, submission_id);
-- Rows logged before this migration knew only their first identifier's hash.
INSERT OR IGNORE INTO submission_keys (submission_id, hash, received_at)
  SELECT id, key_hash, received_at FROM submissions WHERE key_hash IS NOT NULL AND hash_v = 2;

-- Each delivery attempt of a submission, per generation: when, the state it led
-- to, and what failed as the log already says it (status, operation and error
-- class; never a CRM response body).
CREATE TABLE IF NOT EXISTS submission_attempts (
  submission_id TEXT NOT NULL,
  gen INTEGER NOT NULL,
  attempt INTEGER NOT NULL,              -- the queue's delivery count (1, 2, …); 0 = the queue gave up (dead letter)
  at INTEGER NOT NULL,                   -- epoch ms, when the outcome was recorded
  state TEXT NOT NULL,                   -- written | retrying | failed
  status INTEGER,                        -- HTTP status of the failed call, when there was one
  error TEXT,
  action TEXT,                           -- created | updated | unchanged
  ms INTEGER,                            -- how long the attempt took
  PRIMARY KEY (submission_id, gen, attempt)
) WITHOUT ROWID;

-- What operators did (replays), and when. No personal data: submission ids and counts.
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,                   -- epoch ms
  who TEXT NOT NULL,                     -- "operator" (one shared token)
  via TEXT NOT NULL,                     -- console (a browser, Basic) | api (Bearer)
  action TEXT NOT NULL,                  -- replay | replay-failed
  submission_id TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_submission ON audit (submission_id, at);

-- Lists are keyset-paginated on (received_at, id), newest first, with an index per
-- filter so a page is read from an index at a million rows. The first one also
-- covers the overview's chart and per-source numbers (state, source, updated_at).
DROP INDEX IF EXISTS submissions_received;
DROP INDEX IF EXISTS submissions_state_received;
CREATE INDEX IF NOT EXISTS submissions_received_id ON submissions (received_at, id, state, source, updated_at);
CREATE INDEX IF NOT EXISTS submissions_state_received_id ON submissions (state, received_at, id);
CREATE INDEX IF NOT EXISTS submissions_source_received_id ON submissions (source, received_at, id);
CREATE INDEX IF NOT EXISTS submissions_source_form_received_id ON submissions (source, form, received_at, id);
