-- Meta Lead Ads catch-up (sources/catch-up.ts): per endpoint and lead form, the creation time
-- (unix seconds) of the newest lead the last complete read found and durably queued, so the
-- next run asks Graph only for what came after. Moved only once every lead of a read is
-- queued; nothing personal is kept here.
CREATE TABLE IF NOT EXISTS catch_up_marks (
  source TEXT NOT NULL,
  form TEXT NOT NULL,
  seen_until INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (source, form)
);
-- An ad platform's token refused (Graph's 190, LinkedIn's 401, or a permission missing), per
-- endpoint: since when, and the sentence the console's "At a glance" shows with the fix. Set by
-- the lead read-back and the catch-up when the platform refuses the token, deleted by the next
-- read it answers (store/token-alerts.ts).
CREATE TABLE IF NOT EXISTS token_alerts (
  source TEXT PRIMARY KEY,
  since INTEGER NOT NULL,
  reason TEXT NOT NULL
);
