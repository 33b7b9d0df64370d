-- +goose Up
-- Locker availability: last heartbeat, unreachable (declared by the cloud
-- after a silence), out of service (an operator's decision). A site without
-- a row was never heard from and is not watched.
CREATE TABLE locker_status (
    site_id              TEXT COLLATE "C" PRIMARY KEY REFERENCES sites (id),
    last_seen            BIGINT  NOT NULL,
    unreachable          BOOLEAN NOT NULL,
    unreachable_since    BIGINT  NOT NULL,
    out_of_service       BOOLEAN NOT NULL,
    out_of_service_since BIGINT  NOT NULL,
    out_of_service_note  TEXT    NOT NULL,
    version              BIGINT  NOT NULL
);

-- Parcels an outage holds: their timers are suspended from since; deadline
-- is the deadline they had then. A row exists only while the outage lasts.
CREATE TABLE parcel_holds (
    parcel_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES parcels (id),
    site_id        TEXT COLLATE "C" NOT NULL,
    compartment_id TEXT COLLATE "C" NOT NULL,
    cause          TEXT    NOT NULL,
    since          BIGINT  NOT NULL,
    deadline       BIGINT  NOT NULL
);

-- Broken compartments holding a parcel are looked up by every sweep.
CREATE INDEX compartments_broken ON compartments (id) WHERE state = 'out_of_order' AND parcel_id IS NOT NULL;

-- +goose Down
DROP INDEX compartments_broken;
DROP TABLE parcel_holds;
DROP TABLE locker_status;
