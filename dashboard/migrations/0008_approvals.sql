-- FluxRun dashboard schema, version 8: approvals for higher-risk actions (issue 16.2).

-- What each higher-risk action needs in a workspace: 'allow' (the role is enough), 'reconfirm'
-- (a sign-in within `reconfirm_minutes`), 'second_person' (another responder or admin approves
-- the exact request). A workspace without a row uses the defaults of fluxrun/contract.
CREATE TABLE approval_settings (
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  risk TEXT NOT NULL CHECK (risk IN ('unlock_secret', 'replay_production', 'audit_export', 'agent_settings')),
  mode TEXT NOT NULL CHECK (mode IN ('allow', 'reconfirm', 'second_person')),
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (ws, risk)
) WITHOUT ROWID;

-- Per workspace: the re-confirmation window and whether its agent is a production agent.
CREATE TABLE approval_policy (
  ws TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  reconfirm_minutes INTEGER NOT NULL DEFAULT 5,
  agent_production INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

-- Approval requests: bound to one action, trace ('*' for workspace actions) and field set (a
-- sorted JSON array of field paths: names only, never values). Pending requests lapse at
-- `expires_at`; an approval expires `expires_at` (at most 10 minutes after it was granted) and is
-- spent once (`used_at`).
CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  risk TEXT NOT NULL,
  act TEXT NOT NULL,
  trace TEXT NOT NULL,
  app TEXT,
  fields TEXT NOT NULL,
  requester_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  approver TEXT,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'used')),
  created_at INTEGER NOT NULL,
  decided_at INTEGER,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX approvals_by_ws_state ON approvals (ws, state, expires_at);
