-- The company ledger: each key a company is known by (its email domain in A-labels, its
-- normalized name), as a keyed hash, mapped to one company per CRM connection. A company's
-- writer is named by that company, not by the key a person happened to bring, so two
-- colleagues posting at once (one with a work address, one with a free-mail address and the
-- company's name) reach one writer and make one company.
CREATE TABLE IF NOT EXISTS company_keys (
  connection TEXT NOT NULL,
  hash TEXT NOT NULL,                    -- HMAC-SHA256 (HASH_SECRET) of `domain:…` or `name:…`, never the text
  company TEXT NOT NULL,                 -- lead-intake's id of the company (its writer's name), not the CRM's
  linked_at INTEGER NOT NULL,            -- epoch ms
  PRIMARY KEY (connection, hash)
);
