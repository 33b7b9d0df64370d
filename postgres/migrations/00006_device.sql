-- +goose Up
-- Provisioned locker agents (device channel users); the password is kept
-- only as a bcrypt hash.
CREATE TABLE lockers (
    site_id        TEXT    PRIMARY KEY REFERENCES sites (id),
    user_name      TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    provisioned_at BIGINT  NOT NULL,
    last_seen_at   BIGINT  NOT NULL DEFAULT 0
);

-- Locker events the cloud applied, so a redelivered event is applied once.
CREATE TABLE device_events_applied (
    id         TEXT    PRIMARY KEY,
    site_id    TEXT    NOT NULL,
    seq        BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    applied_at BIGINT  NOT NULL
);

CREATE INDEX device_events_applied_site ON device_events_applied (site_id, seq);

-- The transactional outbox of commands to lockers.
CREATE TABLE device_commands (
    id              TEXT    PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    site_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    grant_id        TEXT    NOT NULL DEFAULT '',
    data            TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL,
    due_at          BIGINT  NOT NULL,
    leased_until    BIGINT  NOT NULL DEFAULT 0,
    lease           TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX device_commands_due ON device_commands (state, due_at, id);

-- +goose Down
DROP TABLE device_commands;
DROP TABLE device_events_applied;
DROP TABLE lockers;
