-- +goose Up
-- Reshape the outbox for the dispatcher (issue 5), as
-- sqlite/migrations/00002_outbox.sql does: recipient address and language,
-- the site and carrier for routing and alarms, rendering details (never a
-- secret: the dispatcher renders at send time, so the payload column goes),
-- a lease so that several dispatchers never take the same message, and the
-- last error. PostgreSQL alters the table in place.

ALTER TABLE outbox
    DROP COLUMN payload,
    ADD COLUMN recipient    TEXT   NOT NULL DEFAULT '',
    ADD COLUMN language     TEXT   NOT NULL DEFAULT '',
    ADD COLUMN site_id      TEXT   NOT NULL DEFAULT '',
    ADD COLUMN carrier_id   TEXT   NOT NULL DEFAULT '',
    ADD COLUMN data         TEXT   NOT NULL DEFAULT '{}',
    ADD COLUMN leased_until BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN lease        TEXT   NOT NULL DEFAULT '',
    ADD COLUMN last_error   TEXT   NOT NULL DEFAULT '',
    ADD COLUMN sent_at      BIGINT NOT NULL DEFAULT 0,
    ADD CONSTRAINT outbox_state CHECK (state IN ('pending', 'sent', 'dead'));

-- Only pending messages are ever claimed; the partial index keeps sent
-- ones out of the dispatcher's way however many pile up.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (due_at, id) WHERE state = 'pending';
CREATE INDEX outbox_parcel ON outbox (parcel_id, id);
CREATE INDEX outbox_recipient ON outbox (recipient, id);

-- mailbox holds messages delivered to the local mailbox (the default
-- channel), rendered and sealed with the server keyring: the rendering
-- contains the code, which must never rest in clear (SECURITY.md 4).
CREATE TABLE mailbox (
    id         TEXT COLLATE "C" PRIMARY KEY,
    message_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES outbox (id),
    channel    TEXT   NOT NULL,
    recipient  TEXT   NOT NULL,
    parcel_id  TEXT   NOT NULL DEFAULT '',
    key_id     TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX mailbox_recipient ON mailbox (recipient, id);
CREATE INDEX mailbox_parcel ON mailbox (parcel_id, id);

-- +goose Down
DROP TABLE mailbox;
DROP INDEX outbox_recipient;
DROP INDEX outbox_parcel;
DROP INDEX outbox_due;
ALTER TABLE outbox
    DROP CONSTRAINT outbox_state,
    DROP COLUMN sent_at,
    DROP COLUMN last_error,
    DROP COLUMN lease,
    DROP COLUMN leased_until,
    DROP COLUMN data,
    DROP COLUMN carrier_id,
    DROP COLUMN site_id,
    DROP COLUMN language,
    DROP COLUMN recipient,
    ADD COLUMN payload BYTEA;
CREATE INDEX outbox_due ON outbox (state, due_at);
