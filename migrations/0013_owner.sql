-- Owner routing (issue 23): who a record the submission created belongs to, and by which
-- part of its source's owner plan, as JSON {"userId": "...", "by": "rules[0]: country equals \"DE\""}.
-- A CRM user id and a rule of the configuration: no personal data. NULL: no owner was set.
ALTER TABLE submissions ADD COLUMN owner TEXT;
