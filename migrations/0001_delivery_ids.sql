-- Provider event ids already accepted (Typeform event_id, Stripe event id):
-- a redelivery of one of these is acknowledged and not queued again.
CREATE TABLE IF NOT EXISTS delivery_ids (
  provider TEXT NOT NULL,
  event_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  submission_id TEXT,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX IF NOT EXISTS delivery_ids_received_at ON delivery_ids (received_at);
