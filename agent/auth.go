package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// permissions is the set of API permissions a caller holds, as bits so that
// HOST_MANAGER can carry HOST_VIEWER with it.
type permissions uint8

const (
	permViewer permissions = 1 << iota
	permManager
)

// parsePermissions turns a user's configured permission names into a set.
func parsePermissions(names []string) (permissions, error) {
	var p permissions
	for _, n := range names {
		switch n {
		case api.PermHostViewer:
			p |= permViewer
		case api.PermHostManager:
			p |= permManager | permViewer // HOST_MANAGER implies HOST_VIEWER
		default:
			return 0, fmt.Errorf("unknown permission %q", n)
		}
	}
	return p, nil
}

// allows reports whether p holds the permission named perm.
func (p permissions) allows(perm string) bool {
	switch perm {
	case api.PermHostViewer:
		return p&permViewer != 0
	case api.PermHostManager:
		return p&permManager != 0
	}
	return false
}

// principal is who made a request and what they may do.
type principal struct {
	name  string
	perms permissions
	// peer is set for a request over the unix socket.
	peer *peer
	// refusal, when set, is the message of a 403 to this principal, in
	// place of naming the permission it lacks.
	refusal string
}

// Reasons a request is not authenticated; logged, never sent.
var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("wrong user name or password")
	errNoUsers        = errors.New("no users configured")
	errManyHeaders    = errors.New("more than one Authorization header")
)

// errThrottled refuses, unchecked, an attempt from an address that failed
// too often; unlike the other reasons, its message is sent.
var errThrottled = errors.New("too many failed authentication attempts from this address; try again later")

// dummyHash is compared against for unknown user names, so that a wrong name
// costs as much time as a wrong password and names cannot be probed.
const dummyHash = "$2a$10$V7mhEijdWgkGdm5uchM94OqYspOUliJ9tF0jsXeCRsfBVflUg5ak2"

// authUser is a configured user, ready for checking.
type authUser struct {
	name     string
	password []byte // bcrypt hash, or the plain password
	hashed   bool
	perms    permissions
}

// authenticator decides who a request comes from.
type authenticator struct {
	users    map[string]authUser
	disabled bool
	cache    *verifiedCache
	socket   socketPolicy
	throttle *failureThrottle
	bcrypt   *bcryptGate
	replays  *replayGuard
	now      func() time.Time // the clock signatures are checked against
}

// newAuthenticator checks the configured users once, so that a bad hash or
// permission is a start-up error rather than a stream of 401s.
func newAuthenticator(users []User, disabled bool) (*authenticator, error) {
	a := &authenticator{users: make(map[string]authUser, len(users)), disabled: disabled, cache: newVerifiedCache(verifiedCacheSize),
		throttle: newFailureThrottle(zap.NewNop()), bcrypt: newBcryptGate(), replays: newReplayGuard(replayGuardSize), now: time.Now}
	for _, u := range users {
		if u.Name == "" {
			return nil, errors.New("auth user with an empty name")
		}
		if _, dup := a.users[u.Name]; dup {
			return nil, fmt.Errorf("auth user %q configured twice", u.Name)
		}
		perms, err := parsePermissions(u.Permissions)
		if err != nil {
			return nil, fmt.Errorf("auth user %q: %w", u.Name, err)
		}
		au := authUser{name: u.Name, password: []byte(u.Password), hashed: isBcryptHash(u.Password), perms: perms}
		if au.hashed {
			if _, err := bcrypt.Cost(au.password); err != nil {
				return nil, fmt.Errorf("auth user %q: bad bcrypt hash: %w", u.Name, err)
			}
		}
		a.users[u.Name] = au
	}
	return a, nil
}

// isBcryptHash reports whether a configured password is a bcrypt hash rather
// than the password itself.
func isBcryptHash(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// authenticate returns the caller of r and their permissions. It is the one
// place credentials are looked at. Over the unix socket the peer's
// credentials decide, whatever the request says (auth.disabled is about the
// TCP listener only); over TCP, an Authorization header with HTTP Basic or
// the OCP server's signature. Credentials verified before are accepted at
// once; any other check is made through the throttle of the client's
// address, and a bcrypt comparison through the gate shared by all.
func (a *authenticator) authenticate(r *http.Request) (principal, error) {
	if pc, ok := peerFrom(r.Context()); ok {
		return a.socket.principal(pc)
	}
	if a.disabled {
		return principal{perms: permManager | permViewer}, nil
	}
	headers := r.Header.Values("Authorization")
	switch {
	case len(headers) == 0 || headers[0] == "":
		return principal{}, errNoCredentials
	case len(a.users) == 0:
		return principal{}, errNoUsers
	}
	addr := clientAddr(r)
	if len(headers) > 1 {
		a.throttle.failed(addr)
		return principal{}, errManyHeaders
	}
	creds, err := parseAuthorization(headers[0])
	if err != nil {
		a.throttle.failed(addr)
		return principal{}, err
	}
	if creds.scheme == schemeSignature {
		return a.signed(r.Context(), addr, creds, signedParts(r))
	}
	return a.basic(r.Context(), addr, creds.user, creds.password)
}

// throttled runs check, an attempt from addr, once addr's throttle admits
// it, and records its outcome there; costly says check runs bcrypt.
// Refusals that guessed nothing (the throttle's own, a caller gone while
// waiting) are not counted as failures.
func (a *authenticator) throttled(ctx context.Context, addr string, costly bool, check func() error) error {
	wait, ok := a.throttle.admit(addr, costly)
	if !ok {
		return errThrottled
	}
	failed := false
	defer func() { a.throttle.done(addr, costly, failed) }()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("throttled: %w", ctx.Err())
		}
	}
	err := check()
	failed = err != nil && !errors.Is(err, errThrottled) && ctx.Err() == nil
	return err
}

// dummySecret is signed with for unknown user names, so that a wrong name
// costs as much time as a wrong signature.
var dummySecret = []byte("ocp-agent: no such user")

// signed checks an OCP-HMACSHA256 signature from addr, and that it was not
// seen before. It needs the user's plain password: a user with a bcrypt
// hash cannot sign.
func (a *authenticator) signed(ctx context.Context, addr string, creds credentials, req signedRequest) (principal, error) {
	who := principal{name: creds.user}
	err := a.throttled(ctx, addr, false, func() error {
		u, ok := a.users[creds.user]
		if !ok || u.hashed {
			_ = checkSignature(dummySecret, req, creds.signature, a.now())
			if !ok {
				return errBadCredentials
			}
			return errHashedForSign
		}
		if err := checkSignature(u.password, req, creds.signature, a.now()); err != nil {
			return err
		}
		who.perms = u.perms
		return nil
	})
	if err != nil {
		return principal{name: creds.user}, err
	}
	// A replay carries the right signature: it is refused after the check,
	// outside the throttle, since whoever sends it guesses nothing.
	if err := a.replays.first(creds.signature, req.date, a.now()); err != nil {
		return principal{name: creds.user}, err
	}
	return who, nil
}

// basic checks a user name and password from addr. Credentials a bcrypt
// comparison accepted before are accepted at once, and concurrent requests
// with the same credentials share one comparison: only that one goes
// through the throttle, so that a burst from the OCP server is not taken
// for a burst of guesses.
func (a *authenticator) basic(ctx context.Context, addr, name, password string) (principal, error) {
	if len(a.users) == 0 {
		return principal{}, errNoUsers
	}
	u, ok := a.users[name]
	var err error
	switch {
	case !ok:
		err = a.throttled(ctx, addr, true, func() error {
			_, err := a.bcrypt.compare(ctx, []byte(dummyHash), []byte(password))
			if err != nil {
				return err
			}
			return errBadCredentials
		})
	case !u.hashed:
		err = a.throttled(ctx, addr, false, func() error {
			// Comparing digests keeps the time independent of the lengths too.
			want, got := sha256.Sum256(u.password), sha256.Sum256([]byte(password))
			if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
				return errBadCredentials
			}
			return nil
		})
	default:
		err = a.cache.verify(cacheKey(u.name, password, u.password), func() error {
			return a.throttled(ctx, addr, true, func() error {
				match, err := a.bcrypt.compare(ctx, u.password, []byte(password))
				if err == nil && !match {
					err = errBadCredentials
				}
				return err
			})
		})
	}
	if err != nil {
		return principal{name: name}, err
	}
	return principal{name: name, perms: u.perms}, nil
}

// cacheKey identifies one successful verification. Each part is length
// prefixed, so that no two different triples share a key; the hash is part of
// it, so that a changed password invalidates the entry.
func cacheKey(user, password string, hash []byte) [sha256.Size]byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(user), []byte(password), hash} {
		h.Write(binary.AppendUvarint(nil, uint64(len(part))))
		h.Write(part)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// verifiedCacheSize bounds the cache: a few users with a few passwords each
// need far fewer, and the bound caps the memory an attacker with valid
// credentials could make it hold.
const verifiedCacheSize = 256

// verifiedCache remembers credentials that passed a bcrypt comparison.
type verifiedCache struct {
	// mu guards seen and inflight. The cache exists because bcrypt at cost 10
	// takes 50–100 ms of CPU, and the OCP server sends the same Basic
	// credentials with every request, often several at once: without it each
	// request would pay that, and a burst would queue behind one another.
	// Only successes are kept, as SHA-256 digests, so it holds no password and
	// a wrong guess still costs a bcrypt. inflight lets concurrent requests
	// with the same credentials share one comparison.
	mu       sync.Mutex
	seen     map[[sha256.Size]byte]struct{}
	inflight map[[sha256.Size]byte]*verification
	limit    int
}

// verification is one bcrypt comparison in progress; err is set before
// done is closed.
type verification struct {
	done chan struct{}
	err  error
}

func newVerifiedCache(limit int) *verifiedCache {
	return &verifiedCache{
		seen:     make(map[[sha256.Size]byte]struct{}),
		inflight: make(map[[sha256.Size]byte]*verification),
		limit:    limit,
	}
}

// verify reports whether the credentials keyed k are valid (nil) or why
// not: from memory, by waiting for a comparison of the same credentials
// already running, or by running compare and remembering a success.
func (c *verifiedCache) verify(k [sha256.Size]byte, compare func() error) error {
	c.mu.Lock()
	if _, ok := c.seen[k]; ok {
		c.mu.Unlock()
		return nil
	}
	if v, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-v.done
		return v.err
	}
	v := &verification{done: make(chan struct{})}
	c.inflight[k] = v
	c.mu.Unlock()

	v.err = compare()

	c.mu.Lock()
	delete(c.inflight, k)
	if v.err == nil {
		c.addLocked(k)
	}
	c.mu.Unlock()
	close(v.done)
	return v.err
}

// addLocked remembers k, first forgetting an arbitrary entry when full: the
// loss is one more bcrypt comparison for someone, so no LRU bookkeeping is
// needed. c.mu must be held.
func (c *verifiedCache) addLocked(k [sha256.Size]byte) {
	for old := range c.seen {
		if len(c.seen) < c.limit {
			break
		}
		delete(c.seen, old)
	}
	c.seen[k] = struct{}{}
}

// len reports how many verifications are remembered (for tests).
func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
