package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	sig := sign([]byte("k"), "x")
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name   string
		header string
		want   credentials
		err    error
	}{
		{"basic", basicHeader("ocp", "secret"), credentials{scheme: schemeBasic, user: "ocp", password: "secret"}, nil},
		{"basic lower case", "basic " + b64([]byte("ocp:secret")), credentials{scheme: schemeBasic, user: "ocp", password: "secret"}, nil},
		{"basic colon in password", basicHeader("ocp", "a:b"), credentials{scheme: schemeBasic, user: "ocp", password: "a:b"}, nil},
		{"basic empty password", basicHeader("ocp", ""), credentials{scheme: schemeBasic, user: "ocp"}, nil},
		{"basic without colon", "Basic " + b64([]byte("ocp")), credentials{}, errMalformedHeader},
		{"basic not base64", "Basic !!!", credentials{}, errMalformedHeader},
		{"basic two spaces", "Basic  " + b64([]byte("ocp:secret")), credentials{}, errMalformedHeader},
		{"bare basic", "Basic", credentials{}, errMalformedHeader},
		{"signature", "OCP-HMACSHA256 ocp:" + b64(sig), credentials{scheme: schemeSignature, user: "ocp", signature: sig}, nil},
		{"signature any case", "ocp-hmacsha256 ocp:" + b64(sig), credentials{scheme: schemeSignature, user: "ocp", signature: sig}, nil},
		{"signature without user", "OCP-HMACSHA256 :" + b64(sig), credentials{}, errMalformedHeader},
		{"signature without colon", "OCP-HMACSHA256 ocp" + b64(sig), credentials{}, errMalformedHeader},
		{"signature empty", "OCP-HMACSHA256 ocp:", credentials{}, errMalformedHeader},
		{"bare signature scheme", "OCP-HMACSHA256", credentials{}, errMalformedHeader},
		{"signature too short", "OCP-HMACSHA256 ocp:" + b64(sig[:31]), credentials{}, errMalformedHeader},
		{"signature too long", "OCP-HMACSHA256 ocp:" + b64(append(sig, 0)), credentials{}, errMalformedHeader},
		{"signature unpadded", "OCP-HMACSHA256 ocp:" + base64.RawStdEncoding.EncodeToString(sig), credentials{}, errMalformedHeader},
		{"signature url alphabet", "OCP-HMACSHA256 ocp:" + strings.NewReplacer("+", "-", "/", "_").Replace(b64(bytes.Repeat([]byte{0xfb}, 32))), credentials{}, errMalformedHeader},
		{"signature not base64", "OCP-HMACSHA256 ocp:%%%", credentials{}, errMalformedHeader},
		{"bearer", "Bearer abc", credentials{}, errUnknownScheme},
		{"empty", "", credentials{}, errUnknownScheme},
		{"only space", " ", credentials{}, errUnknownScheme},
		{"scheme glued", "Basicb2NwOnNlY3JldA==", credentials{}, errUnknownScheme},
		{"huge scheme", strings.Repeat("A", 70000), credentials{}, errUnknownScheme},
		{"NUL in scheme", "Ba\x00sic abc", credentials{}, errUnknownScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.header)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got.scheme != tt.want.scheme || got.user != tt.want.user || got.password != tt.want.password || !bytes.Equal(got.signature, tt.want.signature) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && len(err.Error()) > 200 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

// FuzzParseAuthorization checks that no header makes the parser panic,
// that Basic reads exactly as net/http reads it, and that what it accepts
// is what its scheme allows and encodes back to an equivalent header.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		basicHeader("ocp", "secret"), "Basic", "Basic ", "basic Og==", "Basic b2Nw",
		"OCP-HMACSHA256 ocp:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OCP-HMACSHA256 :", "OCP-HMACSHA256 a:b:c", "Bearer x", "", " ", "OCP-HMACSHA256\tocp:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got, err := parseAuthorization(header)
		if err != nil {
			if !errors.Is(err, errMalformedHeader) && !errors.Is(err, errUnknownScheme) {
				t.Fatalf("error %v is neither malformed nor unknown scheme", err)
			}
			if got.scheme != "" || got.user != "" || got.password != "" || got.signature != nil {
				t.Fatalf("credentials %+v returned with error %v", got, err)
			}
		}
		// Basic must agree with net/http, which is what the agent used
		// before and what every client expects.
		r := &http.Request{Header: http.Header{"Authorization": {header}}}
		user, password, ok := r.BasicAuth()
		isBasic := err == nil && got.scheme == schemeBasic
		if ok != isBasic || (ok && (user != got.user || password != got.password)) {
			t.Fatalf("net/http reads %q as (%q, %q, %v), parseAuthorization as %+v, %v", header, user, password, ok, got, err)
		}
		if err != nil {
			return
		}
		switch got.scheme {
		case schemeBasic:
			again, err := parseAuthorization(basicHeader(got.user, got.password))
			if err != nil || again.user != got.user || again.password != got.password {
				t.Fatalf("basic %+v does not round-trip: %+v, %v", got, again, err)
			}
		case schemeSignature:
			if got.user == "" || strings.Contains(got.user, ":") || len(got.signature) != sha256.Size {
				t.Fatalf("accepted signature credentials %+v", got)
			}
			again, err := parseAuthorization(schemeSignature + " " + got.user + ":" + base64.StdEncoding.EncodeToString(got.signature))
			if err != nil || again.user != got.user || !bytes.Equal(again.signature, got.signature) {
				t.Fatalf("signature %+v does not round-trip: %+v, %v", got, again, err)
			}
		default:
			t.Fatalf("accepted scheme %q", got.scheme)
		}
	})
}
