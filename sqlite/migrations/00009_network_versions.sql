-- +goose Up
-- Network area: optimistic versions of sites and carriers (operators'
-- conditional updates), and decommissioned sites. Rows that exist already
-- start at version 1, like new ones.

ALTER TABLE sites ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sites ADD COLUMN decommissioned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE carriers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE carriers DROP COLUMN version;
ALTER TABLE sites DROP COLUMN decommissioned_at;
ALTER TABLE sites DROP COLUMN version;
