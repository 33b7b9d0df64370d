-- +goose Up
-- Idempotency-Key records of the public API (DESIGN.md 5): one row per
-- caller scope and key, remembered for 24 h. response is the transport's
-- encoding of the stored answer; it never holds a secret.
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BYTEA   NOT NULL,
    state        TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BYTEA,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    version      BIGINT  NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
