// Package notify delivers parcelguard's notifications from the
// transactional outbox: recipient e-mail (SMTP) and SMS (HTTP gateway,
// generic JSON or Twilio form), signed carrier webhooks, and the local
// mailbox that takes whatever no real channel is configured for.
//
// Use cases enqueue parcelguard.Message rows in the transaction of the
// state change (service/notify.go); the rows hold no secret. A Dispatcher
// claims due rows under a lease (several dispatchers may share a store),
// renders them at send time — fetching the PIN through a CodeSource, which
// unseals it, and signing the QR token — sends them, and records the
// outcome: sent; a retry with exponential backoff and jitter; or, after
// Config.Dispatch.MaxAge (24 h) or a permanent failure, dead with an
// alarm.notification_dead audit event for the operator.
//
// Delivery is at least once. A crash between sending and recording repeats
// a message once, with the same idempotency key: as the e-mail Message-ID
// (MessageID) and X-Parcelguard-Idempotency-Key header, the SMS gateway's
// Idempotency-Key (Twilio: I-Twilio-Idempotency-Token), and the webhook's
// Idempotency-Key header and event id, so receivers can drop it. Mailbox
// delivery commits with the outcome and happens exactly once.
//
// Templates (templates/*.tmpl, embedded) exist in en, de, it and pl, with
// English as fallback; see RenderContent. Every code message says what
// the code is for and that nobody will ask for it; codes never appear in a
// subject, a URL or the first line of an SMS (SECURITY.md 18).
package notify
