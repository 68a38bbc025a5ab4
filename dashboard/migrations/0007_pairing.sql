-- Claim-code pairing of local connectors (issue 16.1). One row per pairing attempt a signed-in
-- user started: pending until the connector's confirmation MAC verifies (then active), failed when
-- it does not, revoked by an admin. The claim code is never stored, nor anything derived from it.
CREATE TABLE pairings (
  id TEXT PRIMARY KEY,
  ws TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  actor TEXT NOT NULL,                 -- the user's email, as shown
  agent_origin TEXT NOT NULL,          -- the connector's loopback URL the browser calls
  agent_id TEXT NOT NULL,              -- its FLUX_AGENT_ID: the audience of the tokens
  agent_key TEXT NOT NULL,             -- its public Ed25519 replay-signing JWK (JSON)
  agent_thumbprint TEXT NOT NULL,      -- RFC 7638 thumbprint of agent_key
  agent_nonce TEXT NOT NULL,           -- the claim code's nonce (HKDF salt)
  dashboard_nonce TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'failed', 'revoked')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,         -- pending pairings are refused after it (epoch ms)
  paired_at INTEGER,
  last_used_at INTEGER,                -- the last agent token issued for it
  revoked_at INTEGER,
  revoked_by TEXT
);
CREATE INDEX pairings_by_ws ON pairings (ws, created_at);
CREATE INDEX pairings_by_user ON pairings (user_id, created_at);
CREATE INDEX pairings_by_agent ON pairings (ws, agent_id);
