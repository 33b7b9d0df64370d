package devicemsg

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
)

// signContext prefixes the signed bytes. The cloud's command key may be the
// same Ed25519 key that signs QR tokens (code.Keyring.SigningKey); the prefix
// keeps a signature over a command from ever verifying as a token, or the
// other way round.
const signContext = "parcelguard/command/v1\x00"

// MaxSignedCommandBytes bounds the encoded envelope: the command in base64
// plus signature and key id.
const MaxSignedCommandBytes = MaxCommandBytes*4/3 + 512

// SignedCommand is a command as sent over the wire: the exact command bytes
// that were signed, the Ed25519 signature over them and the signing key id.
// Keeping the signed bytes (rather than re-encoding) means verification
// never depends on JSON encoding being canonical.
type SignedCommand struct {
	KeyID     string `json:"key_id"`
	Command   []byte `json:"command"`
	Signature []byte `json:"sig"`
}

// Outgoing is a signed command and the locker it is addressed to.
type Outgoing struct {
	LockerID string
	Command  SignedCommand
}

// Sign validates and encodes cmd and signs it with priv under keyID.
func Sign(cmd Command, keyID string, priv ed25519.PrivateKey) (SignedCommand, error) {
	if err := checkID("key_id", keyID); err != nil {
		return SignedCommand{}, fmt.Errorf("sign command: %w", err)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return SignedCommand{}, fmt.Errorf("sign command: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	b, err := EncodeCommand(cmd)
	if err != nil {
		return SignedCommand{}, fmt.Errorf("sign command: %w", err)
	}
	return SignedCommand{KeyID: keyID, Command: b, Signature: ed25519.Sign(priv, signedBytes(b))}, nil
}

// signedBytes returns the message the signature covers.
func signedBytes(cmd []byte) []byte {
	return append([]byte(signContext), cmd...)
}

// validate checks the envelope's structure, not its signature.
func (s *SignedCommand) validate() error {
	if err := checkID("key_id", s.KeyID); err != nil {
		return err
	}
	if len(s.Command) == 0 || len(s.Command) > MaxCommandBytes {
		return fmt.Errorf("%w: command must be 1 to %d bytes", ErrMalformed, MaxCommandBytes)
	}
	if len(s.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: sig must be %d bytes", ErrMalformed, ed25519.SignatureSize)
	}
	return nil
}

// EncodeSignedCommand encodes the envelope as JSON.
func EncodeSignedCommand(s SignedCommand) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("encode signed command: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode signed command: %w", err)
	}
	return b, nil
}

// DecodeSignedCommand decodes the envelope and checks its structure. The
// command inside is neither decoded nor trusted until Verifier.Verify.
func DecodeSignedCommand(b []byte) (SignedCommand, error) {
	var s SignedCommand
	if err := decodeStrict(b, MaxSignedCommandBytes, &s); err != nil {
		return SignedCommand{}, fmt.Errorf("decode signed command: %w", err)
	}
	if err := s.validate(); err != nil {
		return SignedCommand{}, fmt.Errorf("decode signed command: %w", err)
	}
	return s, nil
}
