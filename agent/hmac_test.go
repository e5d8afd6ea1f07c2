package agent

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

func TestCheckSignature(t *testing.T) {
	secret := []byte("both-secret")
	now := time.Date(2026, 3, 4, 10, 20, 30, 0, time.Local)
	at := func(d time.Duration) string { return now.Add(d).Format(signatureDateLayout) }
	base := signedRequest{method: "POST", uri: "/compute/hosts/20/agent/processes/185/stop", contentType: "application/json", date: at(0), traceID: "51b0faa7203d42db"}
	tests := []struct {
		name   string
		req    signedRequest  // what arrives
		signed *signedRequest // what was signed, when it differs
		secret string         // the signer's secret, when it differs
		err    error
	}{
		{"exact", base, nil, "", nil},
		{"59s behind", with(base, func(r *signedRequest) { r.date = at(-59 * time.Second) }), nil, "", nil},
		{"60s behind", with(base, func(r *signedRequest) { r.date = at(-60 * time.Second) }), nil, "", nil},
		{"61s behind", with(base, func(r *signedRequest) { r.date = at(-61 * time.Second) }), nil, "", errStaleDate},
		{"59s ahead", with(base, func(r *signedRequest) { r.date = at(59 * time.Second) }), nil, "", nil},
		{"61s ahead", with(base, func(r *signedRequest) { r.date = at(61 * time.Second) }), nil, "", errStaleDate},
		{"a day old", with(base, func(r *signedRequest) { r.date = at(-24 * time.Hour) }), nil, "", errStaleDate},
		{"HTTP date", with(base, func(r *signedRequest) { r.date = now.UTC().Format(http.TimeFormat) }), nil, "", nil},
		{"HTTP date stale", with(base, func(r *signedRequest) { r.date = now.Add(-2 * time.Minute).UTC().Format(http.TimeFormat) }), nil, "", errStaleDate},
		{"no date", with(base, func(r *signedRequest) { r.date = "" }), nil, "", errNoDate},
		{"unreadable date", with(base, func(r *signedRequest) { r.date = "yesterday" }), nil, "", errBadDate},
		{"ISO date", with(base, func(r *signedRequest) { r.date = now.Format(time.RFC3339) }), nil, "", errBadDate},
		{"no trace id, no content type", with(base, func(r *signedRequest) { r.traceID, r.contentType = "", "" }), nil, "", nil},
		{"query", with(base, func(r *signedRequest) { r.uri += "?a=1&b=%20" }), nil, "", nil},
		{"wrong secret", base, nil, "both-secreT", errBadSignature},
		{"method changed", base, ptr(with(base, func(r *signedRequest) { r.method = "GET" })), "", errBadSignature},
		{"path changed", base, ptr(with(base, func(r *signedRequest) { r.uri = "/compute/hosts/20/agent/processes/186/stop" })), "", errBadSignature},
		{"query dropped", with(base, func(r *signedRequest) { r.uri += "?x=1" }), &base, "", errBadSignature},
		{"content type changed", base, ptr(with(base, func(r *signedRequest) { r.contentType = "text/plain" })), "", errBadSignature},
		{"date changed", base, ptr(with(base, func(r *signedRequest) { r.date = at(-time.Second) })), "", errBadSignature},
		{"trace id changed", base, ptr(with(base, func(r *signedRequest) { r.traceID = "other" })), "", errBadSignature},
		{"stale and wrong", with(base, func(r *signedRequest) { r.date = at(-time.Hour) }), &base, "", errBadSignature},
		{"line break in a field", with(base, func(r *signedRequest) { r.traceID = "a\nb" }), nil, "", errUnsignable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed, key := tt.req, secret
			if tt.signed != nil {
				signed = *tt.signed
			}
			if tt.secret != "" {
				key = []byte(tt.secret)
			}
			err := checkSignature(secret, tt.req, sign(key, signed.stringToSign()), now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

func with(r signedRequest, edit func(*signedRequest)) signedRequest {
	edit(&r)
	return r
}

func ptr[T any](v T) *T { return &v }

// TestSignedStringFormat pins the signed text to SPEC.md's form, with a
// signature computed independently (openssl dgst -sha256 -hmac).
func TestSignedStringFormat(t *testing.T) {
	req := signedRequest{method: "POST", uri: "/compute/hosts/20/agent/processes/185/stop?a=1", contentType: "application/json",
		date: "2026/03/04 10:20:30", traceID: "51b0faa7203d42db"}
	want := "POST\n/compute/hosts/20/agent/processes/185/stop?a=1\napplication/json\n2026/03/04 10:20:30\n51b0faa7203d42db"
	if got := req.stringToSign(); got != want {
		t.Fatalf("string to sign %q, want %q", got, want)
	}
	// printf 'POST\n...\n51b0faa7203d42db' | openssl dgst -sha256 -hmac secret -binary | base64
	const opensslB64 = "pttPBvGeD5c38PltqXnkf4dKL3KS2JPtQycWq9mkIK8="
	if got := base64.StdEncoding.EncodeToString(sign([]byte("secret"), want)); got != opensslB64 {
		t.Errorf("signature %s, openssl says %s", got, opensslB64)
	}
}

// signedRequestTo builds a request to ts signed as user with secret, dated
// skew away from now.
func signedRequestTo(t *testing.T, ts *testServer, method, uri, user, secret string, skew time.Duration, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", time.Now().Add(skew).Format(signatureDateLayout))
	} else if req.Header.Get("Date") == "-" {
		req.Header.Del("Date")
	}
	s := signedRequest{method: method, uri: uri, contentType: req.Header.Get("Content-Type"),
		date: req.Header.Get("Date"), traceID: req.Header.Get(api.TraceHeader)}
	req.Header.Set("Authorization", schemeSignature+" "+user+":"+base64.StdEncoding.EncodeToString(sign([]byte(secret), s.stringToSign())))
	return req
}

// TestSignedRequests drives the signature over a real listener, as the OCP
// server sends it.
func TestSignedRequests(t *testing.T) {
	const stop = procs + "/185/stop"
	tests := []struct {
		name   string
		method string
		uri    string
		user   string
		secret string
		skew   time.Duration
		header []string
		status int
		code   int
	}{
		{"list as viewer", "GET", procs, "viewer", viewerPassword, 0, nil, 200, 0},
		{"stop as manager", "POST", stop, "both", "both-secret", 0, []string{api.TraceHeader, "51b0faa7203d42db", "Content-Type", "application/json"}, 200, 0},
		{"under the prefix", "POST", api.Prefix + stop, "both", "both-secret", 0, nil, 200, 0},
		{"with a query", "GET", procs + "?page=1&size=10", "viewer", viewerPassword, 0, nil, 200, 0},
		{"clock 50s behind", "GET", procs, "viewer", viewerPassword, -50 * time.Second, nil, 200, 0},
		{"clock 50s ahead", "GET", procs, "viewer", viewerPassword, 50 * time.Second, nil, 200, 0},
		{"clock 70s behind", "GET", procs, "viewer", viewerPassword, -70 * time.Second, nil, 401, api.CodeUnauthorized},
		{"clock 70s ahead", "GET", procs, "viewer", viewerPassword, 70 * time.Second, nil, 401, api.CodeUnauthorized},
		{"no date", "GET", procs, "viewer", viewerPassword, 0, []string{"Date", "-"}, 401, api.CodeUnauthorized},
		{"wrong secret", "GET", procs, "viewer", "guess", 0, nil, 401, api.CodeUnauthorized},
		{"unknown user", "GET", procs, "mallory", viewerPassword, 0, nil, 401, api.CodeUnauthorized},
		{"bcrypt user cannot sign", "GET", procs, "manager", managerPassword, 0, nil, 401, api.CodeUnauthorized},
		{"bcrypt user signing with the hash", "GET", procs, "manager", managerHash, 0, nil, 401, api.CodeUnauthorized},
		{"viewer signs a stop", "POST", stop, "viewer", viewerPassword, 0, nil, 403, api.CodeForbidden},
		{"signed bad id", "POST", procs + "/0/stop", "both", "both-secret", 0, nil, 400, api.CodeBadParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			resp, err := ts.Client().Do(signedRequestTo(t, ts, tt.method, tt.uri, tt.user, tt.secret, tt.skew, tt.header...))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.code != 0 && !bytes.Contains(body, []byte(`"code":`+strconv.Itoa(tt.code)))) {
				t.Fatalf("%d %s, want %d code %d", resp.StatusCode, body, tt.status, tt.code)
			}
			if tt.status == 401 && !bytes.Contains(body, []byte(`"message":"no valid credentials"`)) {
				t.Errorf("401 says more than it should: %s", body)
			}
		})
	}
}

// TestSignatureCoversWhatIsSent checks that the agent signs the URL as
// sent, not as decoded or cleaned: a request signed for one path does not
// pass for an equivalent spelling of it.
func TestSignatureCoversWhatIsSent(t *testing.T) {
	ts := newTestServer(t)
	good := signedRequestTo(t, ts, "GET", procs+"/185", "viewer", viewerPassword, 0)
	resp, err := ts.Client().Do(good)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("signed get: %d", resp.StatusCode)
	}
	// Same signature, same headers, the id written with a leading zero.
	replay, _ := http.NewRequest("GET", ts.URL+procs+"/0185", nil)
	replay.Header = good.Header.Clone()
	resp, err = ts.Client().Do(replay)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("signature for /185 accepted on /0185: %d", resp.StatusCode)
	}
}

// FuzzCheckSignature checks that no input makes the check panic, that it
// accepts a signature only if it is the HMAC of the request under the
// secret, dated within the window, and that it accepts every such one.
func FuzzCheckSignature(f *testing.F) {
	f.Add([]byte("secret"), "POST", "/compute/hosts/20/agent/processes/185/stop", "application/json", "2026/03/04 10:20:30", "51b0faa7203d42db", []byte("x"), int64(0))
	f.Add([]byte(""), "GET", "/", "", "Wed, 04 Mar 2026 10:20:30 GMT", "", []byte{}, int64(59))
	f.Add([]byte("k"), "GET", "/a?b", "", "2026/13/40 25:61:61", "", make([]byte, 32), int64(-61))
	f.Add([]byte("k"), "GET\n/x", "", "", "2026/03/04 10:20:30", "", make([]byte, 32), int64(1))
	f.Fuzz(func(t *testing.T, secret []byte, method, uri, contentType, date, traceID string, sig []byte, skew int64) {
		req := signedRequest{method: method, uri: uri, contentType: contentType, date: date, traceID: traceID}
		now := time.Now()
		when, dateErr := parseSignedDate(date)
		if dateErr == nil {
			now = when.Add(time.Duration(skew%120) * time.Second)
		}
		fresh := dateErr == nil && now.Sub(when) <= maxClockSkew && now.Sub(when) >= -maxClockSkew
		clean := !strings.ContainsAny(method+uri+contentType+date+traceID, "\r\n")
		right := sign(secret, req.stringToSign())

		err := checkSignature(secret, req, sig, now)
		if err == nil && (!bytes.Equal(sig, right) || !fresh || !clean) {
			t.Fatalf("accepted sig %x for %+v at %v (right %x, fresh %v, clean %v)", sig, req, now, right, fresh, clean)
		}
		err = checkSignature(secret, req, right, now)
		if (err == nil) != (fresh && clean) {
			t.Fatalf("right signature for %+v at %v: %v (fresh %v, clean %v)", req, now, err, fresh, clean)
		}
		if len(right) > 0 {
			flipped := bytes.Clone(right)
			flipped[int(uint64(skew)%uint64(len(flipped)))] ^= 1
			if checkSignature(secret, req, flipped, now) == nil {
				t.Fatalf("a flipped bit passed for %+v", req)
			}
		}
	})
}
