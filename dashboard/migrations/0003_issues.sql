-- Issues: failing executions grouped by fingerprint (app, method, route template, error class or
-- 5xx status). Counts grow in the indexer's batches from rows that batch inserted, like the
-- rollups. An issue resolved (by a guard or by hand) reopens when a failing execution that
-- started after the resolution is indexed; an ignored one stays ignored and keeps counting.

CREATE TABLE issues (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  fingerprint TEXT NOT NULL UNIQUE,
  ws TEXT,                             -- the workspace of the app (NULL while it has none)
  app TEXT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,                 -- the route template the runtime recorded
  error TEXT NOT NULL,                 -- the error class, or "HTTP <status>"
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,         -- epoch ms
  last_seen INTEGER NOT NULL,
  last_trace TEXT NOT NULL,            -- the latest execution
  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved', 'ignored')),
  state_at INTEGER,                    -- when the state was last set (resolution time for reopening)
  state_by TEXT,                       -- who set it: an email, or "guard <id>"
  reopened INTEGER NOT NULL DEFAULT 0  -- times it reopened after a resolution
);
CREATE INDEX issues_by_ws ON issues (ws, state, last_seen DESC);

-- The handler that ran (absent: fetch) and the Durable Object / entrypoint class, from the summary.
ALTER TABLE executions ADD COLUMN handler TEXT;
ALTER TABLE executions ADD COLUMN entry TEXT;
