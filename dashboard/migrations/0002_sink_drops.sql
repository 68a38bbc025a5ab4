-- Traces an app's HTTP sink reported it lost before they reached the dashboard, summed by reason
-- (fluxrun/contract SINK_DROP_REASONS: timeout, unreachable, rejected, overflow, spool_full,
-- too_large). Counts only, reported with the ingest batches the dashboard accepted.
CREATE TABLE sink_drops (
  app TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 0,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (app, reason)
);
