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
    created_at    BIGINT  NOT NULL,
    disabled_at   BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash   BYTEA   PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);

CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE signin_guards (
    key           TEXT    PRIMARY KEY,
    failures      BIGINT  NOT NULL,
    last_failure  BIGINT  NOT NULL,
    blocked_until BIGINT  NOT NULL,
    version       BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE signin_guards;
DROP TABLE sessions;
DROP TABLE accounts;
