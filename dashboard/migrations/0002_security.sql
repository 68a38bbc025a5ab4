-- FluxRun dashboard schema, version 2: security hardening (issue 13).

-- Workspace binding. An app owns the traces that started at or after `bound_from` (epoch ms): the
-- time it was registered, or 0 for apps registered before this version and for apps the operator's
-- FLUX_DEFAULT_WORKSPACE took when first seen. A trace indexed without an owner stays unassigned
-- (ws NULL, visible to nobody): registering or claiming an app never moves indexed traces.
ALTER TABLE apps ADD COLUMN bound_from INTEGER NOT NULL DEFAULT 0;

-- Browser sessions. The cookie holds a random session id; only its SHA-256 is stored. A session
-- ends at `expires_at` or when signed out (`revoked_at`); API tokens are never cookies.
CREATE TABLE sessions (
  hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Ingest limits: fixed-window counters. `key` is `rate:<token hash>` (requests per token),
-- `fail:<client address>` (failed authentications; `locked_until` set past the threshold) or
-- `audit:<workspace>:<who>:<reason>` (one audit row per burst of refusals).
CREATE TABLE ingest_limits (
  key TEXT PRIMARY KEY,
  win INTEGER NOT NULL,                -- window start, epoch ms
  n INTEGER NOT NULL,
  locked_until INTEGER
) WITHOUT ROWID;

-- What ingest refused, per app, reason and hour: the dashboard's own record of loss (Diagnostics).
-- `unit` says whether `n` counts whole requests (auth, rate limit, body) or traces (items).
CREATE TABLE ingest_refusals (
  app TEXT NOT NULL,
  reason TEXT NOT NULL,
  unit TEXT NOT NULL CHECK (unit IN ('request', 'trace')),
  bucket INTEGER NOT NULL,             -- hour start, epoch ms
  n INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (app, reason, bucket)
) WITHOUT ROWID;
