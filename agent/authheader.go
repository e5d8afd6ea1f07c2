package agent

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Authorization schemes the agent accepts on its TCP listener.
const (
	schemeBasic     = "Basic"
	schemeSignature = "OCP-HMACSHA256"
)

// credentials are what an Authorization header carries, parsed but not yet
// checked against any user.
type credentials struct {
	scheme string // schemeBasic or schemeSignature
	user   string
	// password is the Basic password.
	password string
	// signature is the decoded OCP-HMACSHA256 signature: a SHA-256 HMAC.
	signature []byte
}

// errMalformedHeader is parseAuthorization's answer for anything it cannot
// read; the wrapped detail is logged, never sent.
var errMalformedHeader = errors.New("malformed Authorization header")

// errUnknownScheme is parseAuthorization's answer for a scheme other than
// Basic and OCP-HMACSHA256.
var errUnknownScheme = errors.New("unsupported authorization scheme")

// parseAuthorization reads an Authorization header value: the scheme (in
// any case), one space, then the scheme's token. Basic reads exactly as
// net/http's Request.BasicAuth does, so that the two never disagree on who
// a request claims to be; OCP-HMACSHA256 carries `user:base64(signature)`.
// It only parses: no user is looked up and nothing is compared, so that it
// can be fuzzed alone.
func parseAuthorization(header string) (credentials, error) {
	scheme, token, ok := strings.Cut(header, " ")
	switch {
	case strings.EqualFold(scheme, schemeBasic):
		if !ok {
			return credentials{}, fmt.Errorf("%w: Basic without credentials", errMalformedHeader)
		}
		return parseBasic(token)
	case strings.EqualFold(scheme, schemeSignature):
		if !ok {
			return credentials{}, fmt.Errorf("%w: %s without a signature", errMalformedHeader, schemeSignature)
		}
		return parseSignature(token)
	default:
		return credentials{}, fmt.Errorf("%w %q", errUnknownScheme, truncate(scheme, 32))
	}
}

func parseBasic(token string) (credentials, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return credentials{}, fmt.Errorf("%w: Basic credentials are not base64", errMalformedHeader)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return credentials{}, fmt.Errorf("%w: Basic credentials without ':'", errMalformedHeader)
	}
	return credentials{scheme: schemeBasic, user: user, password: password}, nil
}

// parseSignature reads `user:signature`. User names never hold ':' (the
// config refuses them) and base64 never does, so the first ':' splits.
func parseSignature(token string) (credentials, error) {
	user, sig, ok := strings.Cut(token, ":")
	if !ok || user == "" || sig == "" {
		return credentials{}, fmt.Errorf("%w: want %s user:signature", errMalformedHeader, schemeSignature)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil {
		return credentials{}, fmt.Errorf("%w: the signature is not base64", errMalformedHeader)
	}
	if len(raw) != sha256.Size {
		return credentials{}, fmt.Errorf("%w: the signature has %d bytes, an HMAC-SHA256 has %d", errMalformedHeader, len(raw), sha256.Size)
	}
	return credentials{scheme: schemeSignature, user: user, signature: raw}, nil
}

// truncate cuts s to at most n bytes for a log message, so that a hostile
// header cannot blow up a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
