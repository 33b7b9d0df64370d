// The OpenAPI document the service generates must be a valid OpenAPI 3.1
// document (checked against the specification's own JSON Schema), so that
// carriers' code generators accept it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { demo } from "../lib.js";

test("openapi.json is a valid OpenAPI 3.1 document", async () => {
  const res = await fetch(new URL("/openapi.json", demo.base));
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.match(doc.openapi, /^3\.1\./);
  const result = await new Validator().validate(doc);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

test("the validator rejects a broken document", async () => {
  // Guards the test above against a validator that accepts anything.
  const result = await new Validator().validate({ openapi: "3.1.0", info: { title: "x" }, paths: { "/a": { get: { responses: 5 } } } });
  assert.equal(result.valid, false);
});
