package nats

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// bcryptCost keeps a connect (one bcrypt compare) well under 100 ms while
// making an offline guess of a 256-bit random password pointless anyway.
const bcryptCost = 10

// Credentials are what a client presents: user name and clear password.
// They are given to the locker once and never stored by the cloud.
type Credentials struct {
	User     string
	Password string
}

// String hides the password so credentials in a log line leak nothing.
func (c Credentials) String() string { return "credentials(" + c.User + ")" }

// GoString hides the password from %#v as well.
func (c Credentials) GoString() string { return c.String() }

// User is an entry of the server's user list: a name and a bcrypt hash.
type User struct {
	Name         string
	PasswordHash string
	// LockerID is empty for the cloud user.
	LockerID string
}

// LockerCredentials provisions a locker: it returns the credentials to hand
// to the agent and the user entry (with the bcrypt hash only) for the
// server's configuration.
func LockerCredentials(lockerID string) (Credentials, User, error) {
	if err := checkLockerID(lockerID); err != nil {
		return Credentials{}, User{}, fmt.Errorf("locker credentials: %w", err)
	}
	c, u, err := newCredentials(LockerUser(lockerID))
	if err != nil {
		return Credentials{}, User{}, fmt.Errorf("locker credentials: %w", err)
	}
	u.LockerID = lockerID
	return c, u, nil
}

// CloudCredentials returns fresh credentials for the cloud user.
func CloudCredentials() (Credentials, User, error) {
	c, u, err := newCredentials(CloudUser)
	if err != nil {
		return Credentials{}, User{}, fmt.Errorf("cloud credentials: %w", err)
	}
	return c, u, nil
}

func newCredentials(name string) (Credentials, User, error) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	pw := base64.RawURLEncoding.EncodeToString(b[:])
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return Credentials{}, User{}, fmt.Errorf("hash password: %w", err)
	}
	return Credentials{User: name, Password: pw}, User{Name: name, PasswordHash: string(h)}, nil
}

// CloudUserFor returns the cloud user entry for a password the operator
// chose, for rendering an external server's configuration.
func CloudUserFor(password string) (User, error) {
	if len(password) < 16 {
		return User{}, fmt.Errorf("cloud user: the password must be at least 16 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return User{}, fmt.Errorf("cloud user: hash password: %w", err)
	}
	return User{Name: CloudUser, PasswordHash: string(h)}, nil
}
