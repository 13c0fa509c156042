-- The identity ledger: every identifier a person ever brought (email, E.164
-- phone, source id such as a Stripe customer id), as a keyed hash, mapped to
-- one person per CRM connection. The primary key is what makes two concurrent
-- first submissions that share any identifier one person: an identifier is
-- claimed before anything is created in the CRM.
CREATE TABLE IF NOT EXISTS people (
  connection TEXT NOT NULL,
  id TEXT NOT NULL,
  created_at INTEGER NOT NULL,           -- epoch ms; the older person wins a conflict
  locked_at INTEGER,                     -- set when the person's writer first commits to a CRM record (creates or finds one)
  merged_into TEXT,                      -- a person joined to another before it had a record (email-only + phone-only, then both)
  PRIMARY KEY (connection, id)
);
CREATE TABLE IF NOT EXISTS identities (
  connection TEXT NOT NULL,
  hash TEXT NOT NULL,                    -- HMAC-SHA256 (HASH_SECRET) of the identifier, never the identifier
  person TEXT NOT NULL,
  submission TEXT NOT NULL,              -- the submission that linked it
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (connection, hash)
);
CREATE INDEX IF NOT EXISTS identities_person ON identities (connection, person);

-- The submission log learns generations (a replay bumps it; older outcomes no longer
-- count) and which hash a row's key_hash is: 1 = plain SHA-256 (rows from before
-- HASH_SECRET, moved over by the daily cron), 2 = keyed.
ALTER TABLE submissions ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE submissions ADD COLUMN hash_v INTEGER NOT NULL DEFAULT 1;
