-- Trace origin: whether the app's signature on a trace was verified when it was indexed
-- ('verified'), or it could not be ('unverified': unsigned, or no key registered for the app).
ALTER TABLE executions ADD COLUMN origin TEXT NOT NULL DEFAULT 'unverified'
  CHECK (origin IN ('verified', 'unverified'));
