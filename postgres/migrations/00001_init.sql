-- +goose Up
-- Initial schema, mirroring sqlite/migrations/00001_init.sql. Conventions,
-- shared by every table:
--   * times are BIGINT unix nanoseconds UTC, 0 for the zero time.Time, so
--     they round-trip exactly (event hashes cover nanoseconds);
--   * durations are BIGINT nanoseconds (*_ns);
--   * optional references are NULL when empty so foreign keys hold, other
--     optional text is '';
--   * mutable rows carry a version for optimistic concurrency;
--   * keys and sort columns use the "C" collation, so that ordering and
--     cursors compare bytes as SQLite (and Go's strings.Compare) do,
--     whatever locale the database was created with.

CREATE TABLE sites (
    id                TEXT COLLATE "C" PRIMARY KEY,
    name              TEXT             NOT NULL,
    address           TEXT             NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    lon               DOUBLE PRECISION NOT NULL,
    time_zone         TEXT             NOT NULL DEFAULT '',
    opening_hours     TEXT             NOT NULL DEFAULT '',
    storage_period_ns BIGINT           NOT NULL DEFAULT 0,
    created_at        BIGINT           NOT NULL
);

CREATE TABLE carriers (
    id                TEXT COLLATE "C" PRIMARY KEY,
    name              TEXT    NOT NULL,
    phone_factor      BOOLEAN NOT NULL,
    storage_period_ns BIGINT  NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL
);

CREATE TABLE compartments (
    id        TEXT COLLATE "C" PRIMARY KEY,
    site_id   TEXT COLLATE "C" NOT NULL REFERENCES sites (id),
    label     TEXT COLLATE "C" NOT NULL,
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
    -- parcels reference compartments too (see the sqlite schema).
    parcel_id TEXT COLLATE "C",
    version   BIGINT  NOT NULL,
    UNIQUE (site_id, label)
);

CREATE INDEX compartments_free ON compartments (site_id, state, size_rank, label, id);

CREATE TABLE parcels (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    carrier_id         TEXT COLLATE "C" NOT NULL REFERENCES carriers (id),
    tracking_number    TEXT COLLATE "C" NOT NULL,
    recipient_name     TEXT   NOT NULL DEFAULT '',
    recipient_phone    TEXT   NOT NULL DEFAULT '',
    recipient_email    TEXT   NOT NULL DEFAULT '',
    recipient_language TEXT   NOT NULL DEFAULT '',
    size               TEXT   NOT NULL,
    declared_value     BIGINT NOT NULL DEFAULT 0,
    currency           TEXT   NOT NULL DEFAULT '',
    mode               TEXT   NOT NULL,
    state              TEXT   NOT NULL,
    site_id            TEXT COLLATE "C" REFERENCES sites (id),
    compartment_id     TEXT COLLATE "C" REFERENCES compartments (id),
    deadline           BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL,
    UNIQUE (carrier_id, tracking_number)
);

-- Every Parcels filter walks one of these in id order, which is also the
-- cursor order.
CREATE INDEX parcels_carrier ON parcels (carrier_id, id);
CREATE INDEX parcels_site ON parcels (site_id, id);
CREATE INDEX parcels_state ON parcels (state, id);

CREATE TABLE grants (
    id             TEXT COLLATE "C" PRIMARY KEY,
    parcel_id      TEXT COLLATE "C" NOT NULL REFERENCES parcels (id),
    site_id        TEXT COLLATE "C" NOT NULL REFERENCES sites (id),
    compartment_id TEXT COLLATE "C" REFERENCES compartments (id),
    purpose        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    key_id         TEXT    NOT NULL DEFAULT '',
    code_hash      BYTEA   NOT NULL,
    phone_hash     BYTEA,
    code_sealed    BYTEA,
    failures       INTEGER NOT NULL DEFAULT 0,
    not_before     BIGINT  NOT NULL DEFAULT 0,
    expires_at     BIGINT  NOT NULL DEFAULT 0,
    used_at        BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL,
    version        BIGINT  NOT NULL
);

-- A PIN identifies one grant: it is unique among the active grants of its
-- locker for a purpose. Used and expired grants may repeat old PINs.
CREATE UNIQUE INDEX grants_active_code ON grants (site_id, purpose, code_hash)
    WHERE state = 'active';
CREATE INDEX grants_parcel ON grants (parcel_id, created_at, id);

CREATE TABLE locker_guards (
    site_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES sites (id),
    failures      INTEGER NOT NULL,
    window_start  BIGINT  NOT NULL,
    last_failure  BIGINT  NOT NULL,
    blocked_until BIGINT  NOT NULL,
    alarmed       BOOLEAN NOT NULL,
    version       BIGINT  NOT NULL
);

-- Audit events have no foreign keys: the audit trail must accept any event,
-- including ones about rows that failed to be created. data is TEXT, not
-- JSONB, so that it reads back byte for byte as written.
CREATE TABLE events (
    id             TEXT COLLATE "C" PRIMARY KEY,
    stream         TEXT COLLATE "C" NOT NULL,
    seq            BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    kind           TEXT   NOT NULL,
    site_id        TEXT   NOT NULL DEFAULT '',
    compartment_id TEXT   NOT NULL DEFAULT '',
    parcel_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    grant_id       TEXT   NOT NULL DEFAULT '',
    actor          TEXT   NOT NULL DEFAULT '',
    data           TEXT   NOT NULL DEFAULT '{}',
    prev_hash      BYTEA,
    hash           BYTEA  NOT NULL,
    UNIQUE (stream, seq)
);

CREATE INDEX events_at ON events (at, stream, seq);
CREATE INDEX events_parcel ON events (parcel_id, at, stream, seq);

-- stream_heads holds the last event of each audit chain, written in the same
-- transaction as the event. Its row is also the lock that serialises appends
-- to one chain: AppendEvent locks it first, so appends to different chains
-- never wait for each other. A row with seq 0 is a chain being started by a
-- transaction that has not committed yet.
CREATE TABLE stream_heads (
    stream TEXT COLLATE "C" PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   BYTEA  NOT NULL
);

CREATE TABLE timers (
    id        TEXT COLLATE "C" PRIMARY KEY,
    kind      TEXT   NOT NULL,
    parcel_id TEXT COLLATE "C" NOT NULL REFERENCES parcels (id),
    due_at    BIGINT NOT NULL,
    -- One timer per kind and parcel; parcel first so CancelTimers uses it.
    UNIQUE (parcel_id, kind)
);

CREATE INDEX timers_due ON timers (due_at, id);

CREATE TABLE api_keys (
    prefix      TEXT COLLATE "C" PRIMARY KEY,
    secret_hash BYTEA  NOT NULL,
    role        TEXT   NOT NULL,
    carrier_id  TEXT COLLATE "C" REFERENCES carriers (id),
    site_id     TEXT COLLATE "C" REFERENCES sites (id),
    name        TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);

-- outbox holds notifications written in the same transaction as the state
-- change that causes them; a sender delivers them at least once, and the
-- idempotency key stops one cause from producing two messages.
CREATE TABLE outbox (
    id              TEXT COLLATE "C" PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    parcel_id       TEXT    NOT NULL DEFAULT '',
    grant_id        TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL,
    payload         BYTEA,
    due_at          BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending',
    created_at      BIGINT  NOT NULL
);

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
