-- Reviewed replay policies: every version of each app's fluxrun.policy.json, proposed by a
-- responder and approved or rejected by an admin. The app's policy is its highest approved
-- version; a proposal names the approved version it was written against (base), and is approved
-- only while that is still the current one.
CREATE TABLE app_policies (
  app TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  ws TEXT NOT NULL,
  -- The policy as parsePolicy returns it (defaults filled in), JSON, and its digest.
  policy TEXT NOT NULL,
  digest TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'rejected')),
  base INTEGER,
  note TEXT,
  proposed_by TEXT NOT NULL,
  proposed_at INTEGER NOT NULL,
  reviewed_by TEXT,
  reviewed_at INTEGER,
  review_note TEXT,
  PRIMARY KEY (app, version)
);
CREATE INDEX app_policies_by_ws ON app_policies (ws, app, state);
