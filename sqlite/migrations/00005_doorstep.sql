-- +goose Up
-- Doorstep delivery (issue 6): each carrier's password policy, one
-- delivery record per doorstep parcel, its one-time delivery passwords
-- (keyed hashes and sealed copies only, never plaintext), the handover
-- proof, and handovers couriers recorded offline awaiting verification.

CREATE TABLE doorstep_policies (
    carrier_id      TEXT    PRIMARY KEY REFERENCES carriers (id),
    value_threshold INTEGER NOT NULL DEFAULT 0,
    currency        TEXT    NOT NULL DEFAULT '',
    categories      TEXT    NOT NULL DEFAULT '[]',
    shipment_flag   INTEGER NOT NULL DEFAULT 1,
    recipient_opt_in INTEGER NOT NULL DEFAULT 1,
    max_attempts    INTEGER NOT NULL,
    fallback        TEXT    NOT NULL CHECK (fallback IN ('locker', 'return')),
    radius_m        REAL    NOT NULL,
    locker_search_m REAL    NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
) STRICT;

CREATE TABLE doorstep_deliveries (
    parcel_id       TEXT    PRIMARY KEY REFERENCES parcels (id),
    carrier_id      TEXT    NOT NULL REFERENCES carriers (id),
    address         TEXT    NOT NULL,
    lat             REAL    NOT NULL,
    lon             REAL    NOT NULL,
    time_zone       TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    password_reason TEXT    NOT NULL DEFAULT '',
    delivery_date   TEXT    NOT NULL DEFAULT '',
    route_seq       INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    locked          INTEGER NOT NULL DEFAULT 0,
    last_reason     TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL
) STRICT;

-- The courier's manifest: a carrier's deliveries of one day in route order.
CREATE INDEX doorstep_deliveries_day ON doorstep_deliveries (carrier_id, delivery_date, route_seq, parcel_id);

CREATE TABLE doorstep_passwords (
    id            TEXT    PRIMARY KEY,
    parcel_id     TEXT    NOT NULL REFERENCES parcels (id),
    holder        TEXT    NOT NULL CHECK (holder IN ('recipient', 'delegate')),
    delegate_name TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    key_id        TEXT    NOT NULL,
    code_hash     BLOB    NOT NULL,
    code_sealed   BLOB,
    delivery_date TEXT    NOT NULL,
    not_before    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL
) STRICT;

CREATE INDEX doorstep_passwords_parcel ON doorstep_passwords (parcel_id, created_at, id);

CREATE TABLE doorstep_proofs (
    parcel_id     TEXT    PRIMARY KEY REFERENCES parcels (id),
    holder        TEXT    NOT NULL DEFAULT '',
    delegate_name TEXT    NOT NULL DEFAULT '',
    password_id   TEXT    NOT NULL DEFAULT '',
    courier       TEXT    NOT NULL,
    lat           REAL    NOT NULL,
    lon           REAL    NOT NULL,
    distance_m    REAL    NOT NULL,
    at            INTEGER NOT NULL,
    offline       INTEGER NOT NULL DEFAULT 0,
    recorded_at   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE doorstep_offline (
    id          TEXT    PRIMARY KEY,
    parcel_id   TEXT    NOT NULL REFERENCES parcels (id),
    carrier_id  TEXT    NOT NULL,
    courier     TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    code_hash   BLOB    NOT NULL,
    lat         REAL    NOT NULL,
    lon         REAL    NOT NULL,
    recorded_at INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'verified', 'mismatch')),
    problems    TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    verified_at INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL
) STRICT;

CREATE INDEX doorstep_offline_state ON doorstep_offline (state, id);
CREATE INDEX doorstep_offline_parcel ON doorstep_offline (parcel_id, id);

-- +goose Down
DROP TABLE doorstep_offline;
DROP TABLE doorstep_proofs;
DROP TABLE doorstep_passwords;
DROP TABLE doorstep_deliveries;
DROP TABLE doorstep_policies;
