package web

// sessionCookie holds a signed-in operator's or courier's session token.
const sessionCookie = "pg_session"

// signedIn is the account behind a request's session.
type signedIn struct {
	Username string
}
