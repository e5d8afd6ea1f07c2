package agent

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// errReplayed refuses a signature seen before within its window, and
// errReplayGuardFull a new one while the guard remembers as many as it may.
var (
	errReplayed        = errors.New("signature already used: a signed request is accepted once")
	errReplayGuardFull = errors.New("too many signed requests in the last two minutes: remembered signatures at their cap")
)

// replayGuardSize bounds the signatures remembered: 65536 of them, about
// 6 MiB at most, are some 500 signed requests a second, far beyond what
// one OCP server sends.
const replayGuardSize = 1 << 16

// replayGuard refuses a signed request whose signature it has seen: a
// captured request would otherwise be accepted again until its Date left
// the window. A signature is remembered until its Date is maxClockSkew
// past, when checkSignature refuses it anyway; only signatures that passed
// the check are remembered, so that filling the guard needs a password.
// When it is full of signatures still in their window it refuses new ones
// rather than forget one: forgetting would let that one be replayed.
type replayGuard struct {
	// mu guards seen, which every signed request reads and writes.
	mu    sync.Mutex
	seen  map[[sha256.Size]byte]time.Time // signature → when it expires
	limit int
	// earliest is when the first of seen expires, as of the last sweep:
	// before it, a full guard is not swept again, so that a full guard
	// costs a lookup, not a scan, per request.
	earliest time.Time
}

func newReplayGuard(limit int) *replayGuard {
	return &replayGuard{seen: make(map[[sha256.Size]byte]time.Time), limit: limit}
}

// first records sig, made at date, and refuses it when it was recorded
// before and has not expired.
func (g *replayGuard) first(sig []byte, date string, now time.Time) error {
	when, err := parseSignedDate(date)
	if err != nil {
		return err // checkSignature parsed it already; kept for safety
	}
	var k [sha256.Size]byte
	copy(k[:], sig)
	expires := when.Add(maxClockSkew)
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[k]; ok && now.Before(exp) {
		return errReplayed
	}
	if len(g.seen) >= g.limit && !now.Before(g.earliest) {
		g.earliest = time.Time{}
		for s, exp := range g.seen {
			switch {
			case !now.Before(exp):
				delete(g.seen, s)
			case g.earliest.IsZero() || exp.Before(g.earliest):
				g.earliest = exp
			}
		}
	}
	if len(g.seen) >= g.limit {
		return errReplayGuardFull
	}
	g.seen[k] = expires
	return nil
}

// len reports how many signatures are remembered (for tests).
func (g *replayGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
