-- +goose Up
-- Network area: the coordinate index of the public site search, carriers'
-- full-locker policies, and the delegates of delegate pickup grants.

-- Site search reads a latitude band and filters longitude within it.
CREATE INDEX sites_geo ON sites (lat, lon);

CREATE TABLE carrier_policies (
    carrier_id     TEXT    PRIMARY KEY REFERENCES carriers (id),
    fallback       TEXT    NOT NULL CHECK (fallback IN ('reject', 'propose', 'assign')),
    max_distance_m INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- A delegate's code lives in its grant (hashed and sealed like any PIN);
-- this row names who may use it and where it was sent.
CREATE TABLE delegates (
    grant_id   TEXT    PRIMARY KEY REFERENCES grants (id),
    parcel_id  TEXT    NOT NULL REFERENCES parcels (id),
    name       TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    phone      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX delegates_parcel ON delegates (parcel_id, created_at);
CREATE INDEX api_keys_carrier ON api_keys (carrier_id, prefix);

-- +goose Down
DROP INDEX api_keys_carrier;
DROP TABLE delegates;
DROP TABLE carrier_policies;
DROP INDEX sites_geo;
