-- FluxRun dashboard schema, version 1.
-- Workspaces contain apps contain routes (functions). Every read of execution data is scoped by
-- workspace; apps belong to exactly one workspace.

CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,                 -- slug used in URLs
  name TEXT NOT NULL,
  agent_origin TEXT,                   -- the agent the browser calls, e.g. http://127.0.0.1:8788
  agent_id TEXT,                       -- the agent's FLUX_AGENT_ID: the audience of issued tokens
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  created_at INTEGER NOT NULL
);

CREATE TABLE members (
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ws, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

-- Personal API tokens. Only the SHA-256 of a token is stored; `prefix` identifies it in lists.
CREATE TABLE api_tokens (
  hash TEXT PRIMARY KEY,
  prefix TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

CREATE TABLE apps (
  name TEXT PRIMARY KEY,
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);
CREATE INDEX apps_by_ws ON apps (ws);

-- Per-app tokens for POST /v1/ingest (hashed like API tokens).
CREATE TABLE ingest_tokens (
  hash TEXT PRIMARY KEY,
  prefix TEXT NOT NULL,
  app TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

-- The executions index: one row per trace, from the trace summary (R2 custom metadata).
CREATE TABLE executions (
  trace_id TEXT PRIMARY KEY,
  app TEXT NOT NULL,
  ws TEXT,                             -- NULL while the app belongs to no workspace
  route TEXT NOT NULL,
  method TEXT NOT NULL,
  status INTEGER NOT NULL,
  status_class INTEGER NOT NULL,       -- status / 100
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'exception')),
  start INTEGER NOT NULL,              -- epoch ms
  duration_ms REAL NOT NULL,
  events INTEGER NOT NULL,
  hosts TEXT NOT NULL DEFAULT '',
  error_class TEXT,
  truncated INTEGER NOT NULL DEFAULT 0,
  runtime TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  r2_key TEXT NOT NULL,
  indexed_at INTEGER NOT NULL,
  batch TEXT                           -- id of the indexing batch that inserted the row
);
-- Keyset pagination: (start DESC, trace_id DESC) after the equality filters.
CREATE INDEX executions_app_time ON executions (app, start DESC, trace_id DESC);
CREATE INDEX executions_ws_time ON executions (ws, start DESC, trace_id DESC);
CREATE INDEX executions_app_outcome ON executions (app, outcome, start DESC, trace_id DESC);
CREATE INDEX executions_app_class ON executions (app, status_class, start DESC, trace_id DESC);
CREATE INDEX executions_app_route ON executions (app, route, start DESC, trace_id DESC);
CREATE INDEX executions_app_error ON executions (app, error_class, start DESC, trace_id DESC)
  WHERE error_class IS NOT NULL;

-- Pre-aggregated counts per app, route and 5-minute bucket, maintained in the same D1 batch as
-- the inserts and only from rows that batch inserted (re-indexing never double counts).
CREATE TABLE rollups (
  app TEXT NOT NULL,
  route TEXT NOT NULL,
  bucket INTEGER NOT NULL,             -- bucket start, epoch ms
  requests INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL DEFAULT 0,
  error INTEGER NOT NULL DEFAULT 0,
  exception INTEGER NOT NULL DEFAULT 0,
  s2xx INTEGER NOT NULL DEFAULT 0,
  s3xx INTEGER NOT NULL DEFAULT 0,
  s4xx INTEGER NOT NULL DEFAULT 0,
  s5xx INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app, bucket, route)
) WITHOUT ROWID;

-- Duration histogram per app, route and bucket: `bin` indexes DURATION_BINS in src/db/rollups.ts.
CREATE TABLE rollup_durations (
  app TEXT NOT NULL,
  route TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  bin INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (app, bucket, route, bin)
) WITHOUT ROWID;

-- Where the R2 sweep stands, per app prefix `traces/<app>/`.
CREATE TABLE ingest_cursor (
  prefix TEXT PRIMARY KEY,
  last_key TEXT,                       -- the greatest key indexed so far
  rebuild_key TEXT,                    -- non-NULL while a full rebuild runs: where it stands ('' = start)
  swept_at INTEGER,
  indexed INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);

-- Objects the sweep could not index (no summary, unreadable trace), with the reason. No payloads.
CREATE TABLE ingest_skips (
  r2_key TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
);

-- Regression guards: the expected outcome of a repaired replay.
CREATE TABLE guards (
  id TEXT PRIMARY KEY,
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  app TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  route TEXT NOT NULL,
  method TEXT NOT NULL,
  status INTEGER,
  body_digest TEXT,
  error_name TEXT,
  headers TEXT NOT NULL,               -- JSON: response header names
  boundaries TEXT NOT NULL,            -- JSON: ["fetch GET api.example.com/x", ...]
  report TEXT NOT NULL,                -- JSON: the replay report (digests only, no payloads)
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (ws, trace_id)
);
CREATE INDEX guards_by_ws ON guards (ws, created_at DESC);

-- The dashboard's own sensitive actions, allowed or denied. Never tokens or payloads.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ws TEXT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  allowed INTEGER NOT NULL,
  reason TEXT,
  detail TEXT                          -- JSON
);
CREATE INDEX audit_by_ws ON audit (ws, at DESC);
