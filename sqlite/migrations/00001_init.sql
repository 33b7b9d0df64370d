-- +goose Up
-- Initial schema. Conventions, shared by every table:
--   * times are INTEGER unix nanoseconds UTC, 0 for the zero time.Time, so
--     they round-trip exactly (event hashes cover nanoseconds);
--   * durations are INTEGER nanoseconds (*_ns);
--   * optional references are NULL when empty so foreign keys hold, other
--     optional text is '';
--   * mutable rows carry a version for optimistic concurrency.

CREATE TABLE sites (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    address           TEXT    NOT NULL,
    lat               REAL    NOT NULL,
    lon               REAL    NOT NULL,
    time_zone         TEXT    NOT NULL DEFAULT '',
    opening_hours     TEXT    NOT NULL DEFAULT '',
    storage_period_ns INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE carriers (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    phone_factor      INTEGER NOT NULL,
    storage_period_ns INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE compartments (
    id        TEXT    PRIMARY KEY,
    site_id   TEXT    NOT NULL REFERENCES sites (id),
    label     TEXT    NOT NULL,
    size      TEXT    NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    -- size_rank orders size classes (S < M < L < XL) so FreeCompartment can
    -- pick the smallest fitting one with an index range scan.
    size_rank INTEGER NOT NULL GENERATED ALWAYS AS (
        CASE size WHEN 'S' THEN 0 WHEN 'M' THEN 1 WHEN 'L' THEN 2 ELSE 3 END
    ) STORED,
    width_mm  INTEGER NOT NULL,
    height_mm INTEGER NOT NULL,
    depth_mm  INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    -- parcel_id references parcels but is not declared as a foreign key:
    -- parcels reference compartments too, and the cycle would make either
    -- row impossible to create first without deferred constraints.
    parcel_id TEXT,
    version   INTEGER NOT NULL,
    UNIQUE (site_id, label)
) STRICT;

CREATE INDEX compartments_free ON compartments (site_id, state, size_rank, label, id);

CREATE TABLE parcels (
    id                 TEXT    PRIMARY KEY,
    carrier_id         TEXT    NOT NULL REFERENCES carriers (id),
    tracking_number    TEXT    NOT NULL,
    recipient_name     TEXT    NOT NULL DEFAULT '',
    recipient_phone    TEXT    NOT NULL DEFAULT '',
    recipient_email    TEXT    NOT NULL DEFAULT '',
    recipient_language TEXT    NOT NULL DEFAULT '',
    size               TEXT    NOT NULL,
    declared_value     INTEGER NOT NULL DEFAULT 0,
    currency           TEXT    NOT NULL DEFAULT '',
    mode               TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    site_id            TEXT    REFERENCES sites (id),
    compartment_id     TEXT    REFERENCES compartments (id),
    deadline           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    UNIQUE (carrier_id, tracking_number)
) STRICT;

-- Every Parcels filter walks one of these in id order, which is also the
-- cursor order.
CREATE INDEX parcels_carrier ON parcels (carrier_id, id);
CREATE INDEX parcels_site ON parcels (site_id, id);
CREATE INDEX parcels_state ON parcels (state, id);

CREATE TABLE grants (
    id             TEXT    PRIMARY KEY,
    parcel_id      TEXT    NOT NULL REFERENCES parcels (id),
    site_id        TEXT    NOT NULL REFERENCES sites (id),
    compartment_id TEXT    REFERENCES compartments (id),
    purpose        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    key_id         TEXT    NOT NULL DEFAULT '',
    code_hash      BLOB    NOT NULL,
    phone_hash     BLOB,
    code_sealed    BLOB,
    failures       INTEGER NOT NULL DEFAULT 0,
    not_before     INTEGER NOT NULL DEFAULT 0,
    expires_at     INTEGER NOT NULL DEFAULT 0,
    used_at        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL
) STRICT;

-- A PIN identifies one grant: it is unique among the active grants of its
-- locker for a purpose. Used and expired grants may repeat old PINs.
CREATE UNIQUE INDEX grants_active_code ON grants (site_id, purpose, code_hash)
    WHERE state = 'active';
CREATE INDEX grants_parcel ON grants (parcel_id, created_at, id);

CREATE TABLE locker_guards (
    site_id       TEXT    PRIMARY KEY REFERENCES sites (id),
    failures      INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    last_failure  INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    alarmed       INTEGER NOT NULL,
    version       INTEGER NOT NULL
) STRICT;

-- Audit events have no foreign keys: the audit trail must accept any event,
-- including ones about rows that failed to be created.
CREATE TABLE events (
    id             TEXT    PRIMARY KEY,
    stream         TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    site_id        TEXT    NOT NULL DEFAULT '',
    compartment_id TEXT    NOT NULL DEFAULT '',
    parcel_id      TEXT    NOT NULL DEFAULT '',
    grant_id       TEXT    NOT NULL DEFAULT '',
    actor          TEXT    NOT NULL DEFAULT '',
    data           TEXT    NOT NULL DEFAULT '{}',
    prev_hash      BLOB,
    hash           BLOB    NOT NULL,
    UNIQUE (stream, seq)
) STRICT;

CREATE INDEX events_at ON events (at, stream, seq);
CREATE INDEX events_parcel ON events (parcel_id, at, stream, seq);

-- stream_heads holds the last event of each audit chain, written in the same
-- transaction as the event: appending is O(1), and a truncated tail shows as
-- a head whose event is missing.
CREATE TABLE stream_heads (
    stream TEXT    PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL
) STRICT;

CREATE TABLE timers (
    id        TEXT    PRIMARY KEY,
    kind      TEXT    NOT NULL,
    parcel_id TEXT    NOT NULL REFERENCES parcels (id),
    due_at    INTEGER NOT NULL,
    -- One timer per kind and parcel; parcel first so CancelTimers uses it.
    UNIQUE (parcel_id, kind)
) STRICT;

CREATE INDEX timers_due ON timers (due_at, id);

CREATE TABLE api_keys (
    prefix      TEXT    PRIMARY KEY,
    secret_hash BLOB    NOT NULL,
    role        TEXT    NOT NULL,
    carrier_id  TEXT    REFERENCES carriers (id),
    site_id     TEXT    REFERENCES sites (id),
    name        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- outbox holds notifications written in the same transaction as the state
-- change that causes them; a sender delivers them at least once, and the
-- idempotency key stops one cause from producing two messages.
CREATE TABLE outbox (
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

CREATE INDEX outbox_due ON outbox (state, due_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE api_keys;
DROP TABLE timers;
DROP TABLE stream_heads;
DROP TABLE events;
DROP TABLE locker_guards;
DROP TABLE grants;
DROP TABLE parcels;
DROP TABLE compartments;
DROP TABLE carriers;
DROP TABLE sites;
