// Package parcelguard holds the domain of the parcelguard platform: sites,
// compartments, carriers, parcels, grants and audit events, their states and
// legal transitions, the policies that govern them, and the error kinds that
// callers test with errors.Is and errors.As.
//
// This package does no I/O. Adapters (sqlite, postgres, http, ...) live in
// sub-packages named after what they adapt, use cases live in service, and
// cmd/parcelguard wires them together.
package parcelguard
