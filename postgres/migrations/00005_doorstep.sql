-- +goose Up
-- Doorstep delivery (issue 6): each carrier's password policy, one
-- delivery record per doorstep parcel, its one-time delivery passwords
-- (keyed hashes and sealed copies only, never plaintext), the handover
-- proof, and handovers couriers recorded offline awaiting verification.

CREATE TABLE doorstep_policies (
    carrier_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES carriers (id),
    value_threshold BIGINT  NOT NULL DEFAULT 0,
    currency        TEXT    NOT NULL DEFAULT '',
    categories      TEXT    NOT NULL DEFAULT '[]',
    shipment_flag   BOOLEAN NOT NULL DEFAULT TRUE,
    recipient_opt_in BOOLEAN NOT NULL DEFAULT TRUE,
    max_attempts    INTEGER NOT NULL,
    fallback        TEXT    NOT NULL CHECK (fallback IN ('locker', 'return')),
    radius_m        DOUBLE PRECISION NOT NULL,
    locker_search_m DOUBLE PRECISION NOT NULL,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL
);

CREATE TABLE doorstep_deliveries (
    parcel_id       TEXT COLLATE "C" PRIMARY KEY REFERENCES parcels (id),
    carrier_id      TEXT COLLATE "C" NOT NULL REFERENCES carriers (id),
    address         TEXT    NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    time_zone       TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    password_reason TEXT    NOT NULL DEFAULT '',
    delivery_date   TEXT    NOT NULL DEFAULT '',
    route_seq       INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    locked          BOOLEAN NOT NULL DEFAULT FALSE,
    last_reason     TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL
);

-- The courier's manifest: a carrier's deliveries of one day in route order.
CREATE INDEX doorstep_deliveries_day ON doorstep_deliveries (carrier_id, delivery_date, route_seq, parcel_id);

CREATE TABLE doorstep_passwords (
    id            TEXT COLLATE "C" PRIMARY KEY,
    parcel_id     TEXT COLLATE "C" NOT NULL REFERENCES parcels (id),
    holder        TEXT    NOT NULL CHECK (holder IN ('recipient', 'delegate')),
    delegate_name TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    key_id        TEXT    NOT NULL,
    code_hash     BYTEA   NOT NULL,
    code_sealed   BYTEA,
    delivery_date TEXT    NOT NULL,
    not_before    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    used_at       BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL
);

CREATE INDEX doorstep_passwords_parcel ON doorstep_passwords (parcel_id, created_at, id);

CREATE TABLE doorstep_proofs (
    parcel_id     TEXT COLLATE "C" PRIMARY KEY REFERENCES parcels (id),
    holder        TEXT    NOT NULL DEFAULT '',
    delegate_name TEXT    NOT NULL DEFAULT '',
    password_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    courier       TEXT    NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    distance_m    DOUBLE PRECISION NOT NULL,
    at            BIGINT  NOT NULL,
    offline       BOOLEAN NOT NULL DEFAULT FALSE,
    recorded_at   BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE doorstep_offline (
    id          TEXT COLLATE "C" PRIMARY KEY,
    parcel_id   TEXT COLLATE "C" NOT NULL REFERENCES parcels (id),
    carrier_id  TEXT COLLATE "C" NOT NULL,
    courier     TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    code_hash   BYTEA   NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    recorded_at BIGINT  NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'verified', 'mismatch')),
    problems    TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    verified_at BIGINT  NOT NULL DEFAULT 0,
    version     BIGINT  NOT NULL
);

CREATE INDEX doorstep_offline_state ON doorstep_offline (state, id);
CREATE INDEX doorstep_offline_parcel ON doorstep_offline (parcel_id, id);

-- +goose Down
DROP TABLE doorstep_offline;
DROP TABLE doorstep_proofs;
DROP TABLE doorstep_passwords;
DROP TABLE doorstep_deliveries;
DROP TABLE doorstep_policies;
