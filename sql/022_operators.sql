-- 022_operators.sql - operator accounts, roles, sessions, API tokens, and
-- an audit trail that covers reads and cannot be rewritten.
--
-- Secrets are never stored: passwords as Argon2id strings (libsodium's
-- crypto_pwhash_str, computed by the gateway), API tokens and session ids
-- as SHA-256 hex digests of 32 random bytes. Every API request with such a
-- credential looks it up here (carenav_operator_auth), so disabling an
-- operator or revoking a token takes effect on the next request, on every
-- gateway, without a restart.
--
-- Lock-out is per account (failed_logins, locked_until): repeated wrong
-- passwords for one name never lock out another operator.
--
-- operator_actions (007) becomes the audit of reads too: who, when, what,
-- from which client address. A trigger refuses UPDATE and DELETE on it.

CREATE TABLE operators (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
    role           text NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    password_hash  text,                 -- Argon2id string; NULL: token-only account
    totp_secret    text,                 -- base32 RFC 6238 secret; NULL: no second factor
    language       text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es')),
    disabled       boolean NOT NULL DEFAULT false,
    failed_logins  integer NOT NULL DEFAULT 0,   -- consecutive, reset by a good login
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operator_tokens (
    id           bigserial PRIMARY KEY,
    operator_id  bigint NOT NULL REFERENCES operators (id),
    token_sha256 text NOT NULL UNIQUE,   -- hex digest of the token; the token itself is shown once
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operator_sessions (
    id           bigserial PRIMARY KEY,
    operator_id  bigint NOT NULL REFERENCES operators (id),
    sid_sha256   text NOT NULL UNIQUE,   -- hex digest of the cookie's value
    csrf         text NOT NULL,          -- X-CSRF-Token of this session (not a login secret)
    client_addr  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);

ALTER TABLE operator_actions ADD COLUMN client_addr text;

CREATE INDEX IF NOT EXISTS operator_actions_operator_at ON operator_actions (operator, at DESC);

-- The functions this migration defined now live in sql/functions/, one
-- definition each (sql/README.md).
