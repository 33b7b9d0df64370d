// Package code makes and checks the secrets that open lockers
// (SECURITY.md 1, 4, 5 and 10): 6-digit PINs, keyed hashes of codes,
// sealed copies of codes for the recipient's eyes, and signed QR tokens.
//
// All server secrets live in a Keyring, kept outside the database. Keys
// carry ids so they can rotate: the current key makes new hashes, seals and
// tokens, and every key still verifies what it made.
package code
