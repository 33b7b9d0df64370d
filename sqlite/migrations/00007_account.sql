-- +goose Up
-- People who sign in to the web apps (operators, admins, couriers), their
-- sessions and the failure budget of sign-in names. Passwords are argon2id
-- hashes; sessions are stored as the SHA-256 of their token only.
CREATE TABLE accounts (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    carrier_id    TEXT    REFERENCES carriers (id),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash   BLOB    PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE signin_guards (
    key           TEXT    PRIMARY KEY,
    failures      INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    version       INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signin_guards;
DROP TABLE sessions;
DROP TABLE accounts;
