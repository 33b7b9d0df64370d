-- +goose Up
-- Reshape the outbox for the dispatcher (issue 5): recipient address and
-- language, the site and carrier for routing and alarms, rendering details
-- (never a secret: the dispatcher renders at send time, so the payload
-- column goes), a lease so that several dispatchers never take the same
-- message, and the last error. SQLite cannot add a CHECK or drop a column
-- under an index in place, so the table is rebuilt.

CREATE TABLE outbox_v2 (
    id              TEXT    PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    recipient       TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL DEFAULT '',
    parcel_id       TEXT    NOT NULL DEFAULT '',
    grant_id        TEXT    NOT NULL DEFAULT '',
    site_id         TEXT    NOT NULL DEFAULT '',
    carrier_id      TEXT    NOT NULL DEFAULT '',
    data            TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'sent', 'dead')),
    due_at          INTEGER NOT NULL,
    leased_until    INTEGER NOT NULL DEFAULT 0,
    lease           TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO outbox_v2 (id, idempotency_key, kind, channel, parcel_id, grant_id, state, due_at, attempts, created_at)
    SELECT id, idempotency_key, kind, channel, parcel_id, grant_id, state, due_at, attempts, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;

-- Only pending messages are ever claimed; the partial index keeps sent
-- ones out of the dispatcher's way however many pile up.
CREATE INDEX outbox_due ON outbox (due_at, id) WHERE state = 'pending';
CREATE INDEX outbox_parcel ON outbox (parcel_id, id);
CREATE INDEX outbox_recipient ON outbox (recipient, id);

-- mailbox holds messages delivered to the local mailbox (the default
-- channel), rendered and sealed with the server keyring: the rendering
-- contains the code, which must never rest in clear (SECURITY.md 4).
CREATE TABLE mailbox (
    id         TEXT    PRIMARY KEY,
    message_id TEXT    NOT NULL UNIQUE REFERENCES outbox (id),
    channel    TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    parcel_id  TEXT    NOT NULL DEFAULT '',
    key_id     TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX mailbox_recipient ON mailbox (recipient, id);
CREATE INDEX mailbox_parcel ON mailbox (parcel_id, id);

-- +goose Down
DROP TABLE mailbox;
CREATE TABLE outbox_v1 (
    id              TEXT    PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    parcel_id       TEXT    NOT NULL DEFAULT '',
    grant_id        TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL,
    payload         BLOB,
    due_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending',
    created_at      INTEGER NOT NULL
) STRICT;
INSERT INTO outbox_v1 (id, idempotency_key, kind, parcel_id, grant_id, channel, due_at, attempts, state, created_at)
    SELECT id, idempotency_key, kind, parcel_id, grant_id, channel, due_at, attempts, state, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v1 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, due_at);
