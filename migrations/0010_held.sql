-- A broken connection holds its leads (issue 21 item 4). A 401, or a 403 that is not a rate
-- limit, marks the connection held; its submissions wait in state `held` with their payload
-- until a probe finds the connection answering again and re-queues them from here (they
-- outlive the queue's own retention). `connection`: the CRM connection a held row waits for
-- (set with the state; NULL otherwise). No personal data.
ALTER TABLE submissions ADD COLUMN connection TEXT;
-- The resume reads one connection's held rows, oldest first, from this small index alone.
CREATE INDEX IF NOT EXISTS submissions_held ON submissions (connection, received_at) WHERE state = 'held';
-- The connections held now, and why (status, operation and error class; never a response body).
-- Written by the connection's CrmGate on each transition; read by /healthz?ready and the console.
CREATE TABLE IF NOT EXISTS held_connections (
  connection TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  since INTEGER NOT NULL,      -- epoch ms
  probed_at INTEGER            -- the last probe, epoch ms
);
