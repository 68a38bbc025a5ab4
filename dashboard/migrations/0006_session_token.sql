-- A session started with an API token ends when that token is revoked or expires: the token's
-- hash (never the token) is kept with the session.
ALTER TABLE sessions ADD COLUMN token_hash TEXT;
