-- A user an administrator disabled: their token and password no longer let them in, their
-- sessions are ended. The row stays (histories name them). NULL: active.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
