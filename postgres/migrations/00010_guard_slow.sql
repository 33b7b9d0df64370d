-- +goose Up
-- Locker guard: when the slow level (the patient-guesser detector) has
-- drained to zero. Existing guards start drained.

ALTER TABLE locker_guards ADD COLUMN slow_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE locker_guards DROP COLUMN slow_until;
