-- A submission may write several CRM records (contact, lead, company, timeline event):
-- their ids per object, as JSON ({"lead": "…", "contact": "…", "company": "…", "event": "…"}).
-- crm_lead_id stays, holding the lead's id, for what already reads it.
ALTER TABLE submissions ADD COLUMN crm_ids TEXT;
