// Package nats is the NATS adapter of the device contract (package
// devicemsg): an embedded NATS server with JetStream for `parcelguard serve`,
// the JetStream streams, the cloud side (Cloud) and the locker side (Locker).
//
// Subjects (see docs/asyncapi.yaml):
//
//	pg.locker.<id>.events.<kind>   locker → cloud, stream EVENTS, Nats-Msg-Id = event id
//	pg.locker.<id>.commands        cloud → locker, stream COMMANDS, durable consumer locker-<id>
//	pg.inbox.<id>.>                the locker's private reply inbox
//
// Every locker has its own user whose permissions allow only its own
// subjects; the cloud user may do anything in the account. Passwords are
// stored bcrypt-hashed in the server configuration. We chose passwords over
// nkeys because the same credential must work over MQTT 3.1.1, which knows
// only user name and password; the server never holds the clear password.
package nats
