-- +goose Up
-- Network area: optimistic versions of sites and carriers (operators'
-- conditional updates), and decommissioned sites. Rows that exist already
-- start at version 1, like new ones.

ALTER TABLE sites ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN decommissioned_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE carriers ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE carriers DROP COLUMN version;
ALTER TABLE sites DROP COLUMN decommissioned_at, DROP COLUMN version;
