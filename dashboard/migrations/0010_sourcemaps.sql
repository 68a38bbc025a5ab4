-- Source maps, the summary's release / cf-ray / colo, and the top user frame in the issue
-- fingerprint.
--
-- A source map is stored in R2 under sourcemaps/ (never executed, never served back); this table
-- says which map serves which app, release and bundle file. One map per (app, release, bundle):
-- a new upload replaces the old one. release '' means "executions that record no release".

CREATE TABLE source_maps (
  app TEXT NOT NULL,
  release TEXT NOT NULL,               -- '' when the map serves executions without a release
  bundle TEXT NOT NULL,                -- the bundle file name frames carry (last path segment)
  ws TEXT NOT NULL,                    -- the app's workspace when uploaded
  r2_key TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  sources INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL,        -- epoch ms
  uploaded_by TEXT NOT NULL,           -- an email
  PRIMARY KEY (app, release, bundle)
);
CREATE INDEX source_maps_by_ws ON source_maps (ws, uploaded_at DESC);

-- From the trace summary (absent in traces recorded before the runtime wrote them).
ALTER TABLE executions ADD COLUMN release TEXT;
ALTER TABLE executions ADD COLUMN cf_ray TEXT;
ALTER TABLE executions ADD COLUMN colo TEXT;
ALTER TABLE executions ADD COLUMN top_frame TEXT;   -- the thrown error's top user frame, as recorded
-- What the fingerprint takes of the top frame: its function and file without line and column
-- (stable across deploys of the same code), or its bundle position when the function is
-- anonymous. NULL (no frame recorded) keeps the fingerprint it had before this migration, so
-- issues that exist stay the same issues.
ALTER TABLE executions ADD COLUMN frame_key TEXT;
CREATE INDEX executions_by_ray ON executions (cf_ray) WHERE cf_ray IS NOT NULL;
CREATE INDEX executions_by_release ON executions (ws, release, start DESC) WHERE release IS NOT NULL;

ALTER TABLE issues ADD COLUMN frame_key TEXT;
ALTER TABLE issues ADD COLUMN top_frame TEXT;       -- the latest execution's top frame
