-- The console's overview from a rollup (issue "How far one deployment goes"): at a million
-- submissions, counting them per hour, source and state from the log itself read about two
-- million rows a refresh. These three tables keep the counts as the log changes, kept by
-- triggers on `submissions`, so every path that inserts, moves or deletes a row (the
-- consumer, a replay, an erasure, retention) keeps them true without knowing of them:
-- - submission_hours: per hour received, source and state, how many and how many warned;
-- - submission_states: per state, how many of any age;
-- - submission_timing: per hour received and source, written submissions by how long
--   receipt → CRM took, in the buckets below (upper bounds in ms, the last open), from which
--   the overview takes the median and p95 when a day holds too many rows to rank exactly.
-- Bucket upper bounds (ms): 250, 500, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 300000, 600000, 1800000, 3600000, 7200000, 21600000, 86400000, then the rest.
CREATE TABLE IF NOT EXISTS submission_hours (
  hour INTEGER NOT NULL,
  source TEXT NOT NULL,
  state TEXT NOT NULL,
  n INTEGER NOT NULL,
  warned INTEGER NOT NULL,
  PRIMARY KEY (hour, source, state)
) WITHOUT ROWID;
-- Per state, of any age: what waits (queued, retrying) or waits for the operator (failed).
CREATE TABLE IF NOT EXISTS submission_states (
  state TEXT PRIMARY KEY,
  n INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS submission_timing (
  hour INTEGER NOT NULL,
  source TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (hour, source, bucket)
) WITHOUT ROWID;

-- What the log holds now (this migration runs as one batch: no row slips between the count and the triggers).
INSERT INTO submission_hours (hour, source, state, n, warned)
  SELECT s.received_at / 3600000 * 3600000, s.source, s.state, count(*), count(s.warned) FROM submissions AS s WHERE true GROUP BY 1, 2, 3
  ON CONFLICT (hour, source, state) DO NOTHING;
INSERT INTO submission_states (state, n) SELECT s.state, count(*) FROM submissions AS s WHERE true GROUP BY 1 ON CONFLICT (state) DO NOTHING;
INSERT INTO submission_timing (hour, source, bucket, n)
  SELECT s.received_at / 3600000 * 3600000, s.source, CASE WHEN (s.updated_at - s.received_at) < 250 THEN 0 WHEN (s.updated_at - s.received_at) < 500 THEN 1 WHEN (s.updated_at - s.received_at) < 1000 THEN 2 WHEN (s.updated_at - s.received_at) < 1500 THEN 3 WHEN (s.updated_at - s.received_at) < 2000 THEN 4 WHEN (s.updated_at - s.received_at) < 3000 THEN 5 WHEN (s.updated_at - s.received_at) < 5000 THEN 6 WHEN (s.updated_at - s.received_at) < 7500 THEN 7 WHEN (s.updated_at - s.received_at) < 10000 THEN 8 WHEN (s.updated_at - s.received_at) < 15000 THEN 9 WHEN (s.updated_at - s.received_at) < 20000 THEN 10 WHEN (s.updated_at - s.received_at) < 30000 THEN 11 WHEN (s.updated_at - s.received_at) < 45000 THEN 12 WHEN (s.updated_at - s.received_at) < 60000 THEN 13 WHEN (s.updated_at - s.received_at) < 90000 THEN 14 WHEN (s.updated_at - s.received_at) < 120000 THEN 15 WHEN (s.updated_at - s.received_at) < 300000 THEN 16 WHEN (s.updated_at - s.received_at) < 600000 THEN 17 WHEN (s.updated_at - s.received_at) < 1800000 THEN 18 WHEN (s.updated_at - s.received_at) < 3600000 THEN 19 WHEN (s.updated_at - s.received_at) < 7200000 THEN 20 WHEN (s.updated_at - s.received_at) < 21600000 THEN 21 WHEN (s.updated_at - s.received_at) < 86400000 THEN 22 ELSE 23 END, count(*) FROM submissions AS s WHERE s.state = 'written' GROUP BY 1, 2, 3
  ON CONFLICT (hour, source, bucket) DO NOTHING;

CREATE TRIGGER IF NOT EXISTS submissions_rollup_insert AFTER INSERT ON submissions BEGIN
  INSERT INTO submission_hours (hour, source, state, n, warned) VALUES (new.received_at / 3600000 * 3600000, new.source, new.state, 1, new.warned IS NOT NULL)
    ON CONFLICT (hour, source, state) DO UPDATE SET n = n + 1, warned = warned + excluded.warned;
  INSERT INTO submission_states (state, n) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET n = n + 1;
  INSERT INTO submission_timing (hour, source, bucket, n) SELECT new.received_at / 3600000 * 3600000, new.source, CASE WHEN (new.updated_at - new.received_at) < 250 THEN 0 WHEN (new.updated_at - new.received_at) < 500 THEN 1 WHEN (new.updated_at - new.received_at) < 1000 THEN 2 WHEN (new.updated_at - new.received_at) < 1500 THEN 3 WHEN (new.updated_at - new.received_at) < 2000 THEN 4 WHEN (new.updated_at - new.received_at) < 3000 THEN 5 WHEN (new.updated_at - new.received_at) < 5000 THEN 6 WHEN (new.updated_at - new.received_at) < 7500 THEN 7 WHEN (new.updated_at - new.received_at) < 10000 THEN 8 WHEN (new.updated_at - new.received_at) < 15000 THEN 9 WHEN (new.updated_at - new.received_at) < 20000 THEN 10 WHEN (new.updated_at - new.received_at) < 30000 THEN 11 WHEN (new.updated_at - new.received_at) < 45000 THEN 12 WHEN (new.updated_at - new.received_at) < 60000 THEN 13 WHEN (new.updated_at - new.received_at) < 90000 THEN 14 WHEN (new.updated_at - new.received_at) < 120000 THEN 15 WHEN (new.updated_at - new.received_at) < 300000 THEN 16 WHEN (new.updated_at - new.received_at) < 600000 THEN 17 WHEN (new.updated_at - new.received_at) < 1800000 THEN 18 WHEN (new.updated_at - new.received_at) < 3600000 THEN 19 WHEN (new.updated_at - new.received_at) < 7200000 THEN 20 WHEN (new.updated_at - new.received_at) < 21600000 THEN 21 WHEN (new.updated_at - new.received_at) < 86400000 THEN 22 ELSE 23 END, 1 WHERE new.state = 'written'
    ON CONFLICT (hour, source, bucket) DO UPDATE SET n = n + 1;
END;

-- Only a change the counts see: the state, warned or not, or a written row's time.
CREATE TRIGGER IF NOT EXISTS submissions_rollup_update AFTER UPDATE OF state, warned, updated_at, received_at, source ON submissions
WHEN old.state IS NOT new.state OR (old.warned IS NULL) IS NOT (new.warned IS NULL) OR old.source IS NOT new.source OR old.received_at IS NOT new.received_at
  OR (new.state = 'written' AND old.updated_at IS NOT new.updated_at)
BEGIN
  UPDATE submission_hours SET n = n - 1, warned = warned - (old.warned IS NOT NULL)
    WHERE hour = old.received_at / 3600000 * 3600000 AND source = old.source AND state = old.state;
  INSERT INTO submission_hours (hour, source, state, n, warned) VALUES (new.received_at / 3600000 * 3600000, new.source, new.state, 1, new.warned IS NOT NULL)
    ON CONFLICT (hour, source, state) DO UPDATE SET n = n + 1, warned = warned + excluded.warned;
  UPDATE submission_states SET n = n - 1 WHERE state = old.state AND old.state IS NOT new.state;
  INSERT INTO submission_states (state, n) SELECT new.state, 1 WHERE old.state IS NOT new.state ON CONFLICT (state) DO UPDATE SET n = n + 1;
  UPDATE submission_timing SET n = n - 1
    WHERE old.state = 'written' AND hour = old.received_at / 3600000 * 3600000 AND source = old.source AND bucket = CASE WHEN (old.updated_at - old.received_at) < 250 THEN 0 WHEN (old.updated_at - old.received_at) < 500 THEN 1 WHEN (old.updated_at - old.received_at) < 1000 THEN 2 WHEN (old.updated_at - old.received_at) < 1500 THEN 3 WHEN (old.updated_at - old.received_at) < 2000 THEN 4 WHEN (old.updated_at - old.received_at) < 3000 THEN 5 WHEN (old.updated_at - old.received_at) < 5000 THEN 6 WHEN (old.updated_at - old.received_at) < 7500 THEN 7 WHEN (old.updated_at - old.received_at) < 10000 THEN 8 WHEN (old.updated_at - old.received_at) < 15000 THEN 9 WHEN (old.updated_at - old.received_at) < 20000 THEN 10 WHEN (old.updated_at - old.received_at) < 30000 THEN 11 WHEN (old.updated_at - old.received_at) < 45000 THEN 12 WHEN (old.updated_at - old.received_at) < 60000 THEN 13 WHEN (old.updated_at - old.received_at) < 90000 THEN 14 WHEN (old.updated_at - old.received_at) < 120000 THEN 15 WHEN (old.updated_at - old.received_at) < 300000 THEN 16 WHEN (old.updated_at - old.received_at) < 600000 THEN 17 WHEN (old.updated_at - old.received_at) < 1800000 THEN 18 WHEN (old.updated_at - old.received_at) < 3600000 THEN 19 WHEN (old.updated_at - old.received_at) < 7200000 THEN 20 WHEN (old.updated_at - old.received_at) < 21600000 THEN 21 WHEN (old.updated_at - old.received_at) < 86400000 THEN 22 ELSE 23 END;
  INSERT INTO submission_timing (hour, source, bucket, n) SELECT new.received_at / 3600000 * 3600000, new.source, CASE WHEN (new.updated_at - new.received_at) < 250 THEN 0 WHEN (new.updated_at - new.received_at) < 500 THEN 1 WHEN (new.updated_at - new.received_at) < 1000 THEN 2 WHEN (new.updated_at - new.received_at) < 1500 THEN 3 WHEN (new.updated_at - new.received_at) < 2000 THEN 4 WHEN (new.updated_at - new.received_at) < 3000 THEN 5 WHEN (new.updated_at - new.received_at) < 5000 THEN 6 WHEN (new.updated_at - new.received_at) < 7500 THEN 7 WHEN (new.updated_at - new.received_at) < 10000 THEN 8 WHEN (new.updated_at - new.received_at) < 15000 THEN 9 WHEN (new.updated_at - new.received_at) < 20000 THEN 10 WHEN (new.updated_at - new.received_at) < 30000 THEN 11 WHEN (new.updated_at - new.received_at) < 45000 THEN 12 WHEN (new.updated_at - new.received_at) < 60000 THEN 13 WHEN (new.updated_at - new.received_at) < 90000 THEN 14 WHEN (new.updated_at - new.received_at) < 120000 THEN 15 WHEN (new.updated_at - new.received_at) < 300000 THEN 16 WHEN (new.updated_at - new.received_at) < 600000 THEN 17 WHEN (new.updated_at - new.received_at) < 1800000 THEN 18 WHEN (new.updated_at - new.received_at) < 3600000 THEN 19 WHEN (new.updated_at - new.received_at) < 7200000 THEN 20 WHEN (new.updated_at - new.received_at) < 21600000 THEN 21 WHEN (new.updated_at - new.received_at) < 86400000 THEN 22 ELSE 23 END, 1 WHERE new.state = 'written'
    ON CONFLICT (hour, source, bucket) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS submissions_rollup_delete AFTER DELETE ON submissions BEGIN
  UPDATE submission_hours SET n = n - 1, warned = warned - (old.warned IS NOT NULL)
    WHERE hour = old.received_at / 3600000 * 3600000 AND source = old.source AND state = old.state;
  UPDATE submission_states SET n = n - 1 WHERE state = old.state;
  UPDATE submission_timing SET n = n - 1
    WHERE old.state = 'written' AND hour = old.received_at / 3600000 * 3600000 AND source = old.source AND bucket = CASE WHEN (old.updated_at - old.received_at) < 250 THEN 0 WHEN (old.updated_at - old.received_at) < 500 THEN 1 WHEN (old.updated_at - old.received_at) < 1000 THEN 2 WHEN (old.updated_at - old.received_at) < 1500 THEN 3 WHEN (old.updated_at - old.received_at) < 2000 THEN 4 WHEN (old.updated_at - old.received_at) < 3000 THEN 5 WHEN (old.updated_at - old.received_at) < 5000 THEN 6 WHEN (old.updated_at - old.received_at) < 7500 THEN 7 WHEN (old.updated_at - old.received_at) < 10000 THEN 8 WHEN (old.updated_at - old.received_at) < 15000 THEN 9 WHEN (old.updated_at - old.received_at) < 20000 THEN 10 WHEN (old.updated_at - old.received_at) < 30000 THEN 11 WHEN (old.updated_at - old.received_at) < 45000 THEN 12 WHEN (old.updated_at - old.received_at) < 60000 THEN 13 WHEN (old.updated_at - old.received_at) < 90000 THEN 14 WHEN (old.updated_at - old.received_at) < 120000 THEN 15 WHEN (old.updated_at - old.received_at) < 300000 THEN 16 WHEN (old.updated_at - old.received_at) < 600000 THEN 17 WHEN (old.updated_at - old.received_at) < 1800000 THEN 18 WHEN (old.updated_at - old.received_at) < 3600000 THEN 19 WHEN (old.updated_at - old.received_at) < 7200000 THEN 20 WHEN (old.updated_at - old.received_at) < 21600000 THEN 21 WHEN (old.updated_at - old.received_at) < 86400000 THEN 22 ELSE 23 END;
END;
