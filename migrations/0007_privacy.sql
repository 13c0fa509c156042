-- Consent you can prove, erasure you can trust (README "Privacy").

-- The consent a submission carried (its wording's version), and whose person it is in the
-- identity ledger, so an erasure finds every submission of the person.
ALTER TABLE submissions ADD COLUMN consent_version TEXT;
ALTER TABLE submissions ADD COLUMN person TEXT;
CREATE INDEX IF NOT EXISTS submissions_person ON submissions (person);

-- The exact wording of each consent version a source ever used, first seen when.
CREATE TABLE IF NOT EXISTS consent_texts (
  source TEXT NOT NULL,
  form TEXT NOT NULL,
  version TEXT NOT NULL,
  text_sha256 TEXT NOT NULL,
  text TEXT NOT NULL,
  first_seen INTEGER NOT NULL,           -- epoch ms
  PRIMARY KEY (source, form, version, text_sha256)
);

-- An erased person: each identifier's keyed hash and when, nothing else. A submission of
-- theirs received before then (a queued retry, a dead letter, a late redelivery) is dropped.
CREATE TABLE IF NOT EXISTS tombstones (
  hash TEXT PRIMARY KEY,
  erased_at INTEGER NOT NULL
);

-- Erasures and exports are recorded in the audit log (what and when, never whom): the same
-- table as the operator console's (0006), created here too so this migration stands alone.
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  who TEXT NOT NULL,
  via TEXT NOT NULL,
  action TEXT NOT NULL,
  submission_id TEXT,
  detail TEXT
);
