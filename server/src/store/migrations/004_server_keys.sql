-- Secrets every replica shares, made once by the first replica that needs one
-- (store/server-keys.ts). page_token: the HMAC key of page tokens, so a token
-- made by one replica is honoured by another and a forged one by none.
CREATE TABLE baton_server_keys (
  name text PRIMARY KEY,
  key bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
