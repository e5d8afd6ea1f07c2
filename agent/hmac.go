package agent

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// signatureDateLayout is the form of the Date header the OCP server signs,
// in the host's time zone.
const signatureDateLayout = "2006/01/02 15:04:05"

// maxClockSkew is how far a signed request's Date may be from the agent's
// clock, either way: the window in which a captured request could be
// replayed, and the clock difference tolerated between OCP and the host.
const maxClockSkew = 60 * time.Second

// Reasons a signature is refused; logged, never sent.
var (
	errNoDate        = errors.New("signed request without a Date header")
	errBadDate       = errors.New("unreadable Date header")
	errStaleDate     = errors.New("request Date too far from the agent's clock")
	errBadSignature  = errors.New("wrong signature")
	errHashedForSign = errors.New("the user's password is a bcrypt hash: signatures need the plain password")
	errUnsignable    = errors.New("signed field holds a line break")
)

// signedRequest holds the parts of a request that OCP-HMACSHA256 signs, as
// sent, so that the check can be tested and fuzzed without an
// http.Request.
type signedRequest struct {
	method      string
	uri         string // path and query as sent
	contentType string
	date        string
	traceID     string // the X-OCP-Trace-ID header as sent, "" when absent
}

// signedParts takes the signed parts from r.
func signedParts(r *http.Request) signedRequest {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		// An absolute-form target (http://host/path): the path and query
		// are what the signer saw as the URL.
		uri = r.URL.RequestURI()
	}
	return signedRequest{
		method:      r.Method,
		uri:         uri,
		contentType: r.Header.Get("Content-Type"),
		date:        r.Header.Get("Date"),
		traceID:     r.Header.Get(api.TraceHeader),
	}
}

// stringToSign is the signed text: the five parts, one per line. None may
// hold a line break, or two requests could share one text; HTTP parsing
// already ensures it, and checkSignature checks it again.
func (s signedRequest) stringToSign() string {
	return s.method + "\n" + s.uri + "\n" + s.contentType + "\n" + s.date + "\n" + s.traceID
}

// sign returns the HMAC-SHA256 of msg under secret.
func sign(secret []byte, msg string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// checkSignature reports whether sig is secret's signature of req, made
// within maxClockSkew of now. The signature is compared in constant time,
// and before the date, so that a caller without the secret learns nothing
// but "refused".
func checkSignature(secret []byte, req signedRequest, sig []byte, now time.Time) error {
	for _, part := range []string{req.method, req.uri, req.contentType, req.date, req.traceID} {
		if strings.ContainsAny(part, "\r\n") {
			return errUnsignable
		}
	}
	if req.date == "" {
		return errNoDate
	}
	when, err := parseSignedDate(req.date)
	if err != nil {
		return err
	}
	if !hmac.Equal(sign(secret, req.stringToSign()), sig) {
		return errBadSignature
	}
	if skew := now.Sub(when); skew > maxClockSkew || skew < -maxClockSkew {
		return fmt.Errorf("%w: %s is %s off (at most %s)", errStaleDate, req.date, skew.Round(time.Second), maxClockSkew)
	}
	return nil
}

// parseSignedDate reads a Date header: the OCP server's
// `2006/01/02 15:04:05` in the host's zone, or an HTTP date (RFC 7231),
// which carries its own zone, for other signers.
func parseSignedDate(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(signatureDateLayout, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w %q: want %s", errBadDate, truncate(s, 40), signatureDateLayout)
}
