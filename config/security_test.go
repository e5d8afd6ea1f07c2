package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocp-agent/ocp-agent/config"
)

// writeSecret writes a file with mode perm and returns its path.
func writeSecret(t *testing.T, dir, name, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// passwordFileUser is a config whose one user (line 5) reads its password
// from path (line 6).
func passwordFileUser(path string) string {
	return hostOnly + "auth:\n  users:\n    - name: ocp\n      password_file: " + path + "\n      permissions: [HOST_MANAGER]\n"
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		extra    string // more keys of the user, on line 8
		want     string // the password read; "" when refused
		warning  string // substring of the one warning, if any
		errMsg   string // substring of the error, when refused
		errLine  int
		errKeyIs string
	}{
		{"plain secret", writeSecret(t, dir, "plain", "s3cret\n", 0o600), "", "s3cret", "", "", 0, ""},
		{"crlf", writeSecret(t, dir, "crlf", "s3cret\r\n", 0o400), "", "s3cret", "", "", 0, ""},
		{"no newline", writeSecret(t, dir, "bare", "s3cret", 0o600), "", "s3cret", "", "", 0, ""},
		{"bcrypt hash", writeSecret(t, dir, "hash", hash+"\n", 0o600), "", hash, "", "", 0, ""},
		{"readable by others", writeSecret(t, dir, "open", "s3cret\n", 0o644), "", "s3cret", "can be read by others than its owner (mode 0644); chmod 600 it", "", 0, ""},
		{"truncated hash", writeSecret(t, dir, "trunc", "$2a$10$abc\n", 0o600), "", "$2a$10$abc", "not a complete one", "", 0, ""},
		{"missing", filepath.Join(dir, "none"), "", "", "", "no such file or directory", 6, "auth.users[0].password_file"},
		{"relative", "secret.txt", "", "", "", "want an absolute path", 6, "auth.users[0].password_file"},
		{"empty", writeSecret(t, dir, "empty", "\n", 0o600), "", "", "", "is empty", 6, "auth.users[0].password_file"},
		{"two lines", writeSecret(t, dir, "two", "a\nb\n", 0o600), "", "", "", "alone on one line", 6, "auth.users[0].password_file"},
		{"directory", dir, "", "", "", "not a regular file", 6, "auth.users[0].password_file"},
		{"fifo does not hang", fifo, "", "", "", "not a regular file", 6, "auth.users[0].password_file"},
		{"device", "/dev/zero", "", "", "", "not a regular file", 6, "auth.users[0].password_file"},
		{"too large", writeSecret(t, dir, "large", strings.Repeat("x", 5000), 0o600), "", "", "", "larger than 4096 bytes", 6, "auth.users[0].password_file"},
		{"and a password", writeSecret(t, dir, "both", "s3cret\n", 0o600), "      password: other\n", "", "", "not both (password is on line 8)", 6, "auth.users[0].password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := passwordFileUser(tt.path) + tt.extra
			c, err := config.Parse("c.yaml", []byte(yaml))
			if tt.errMsg != "" {
				checkConfigError(t, err, tt.errLine, tt.errKeyIs, tt.errMsg)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			u := c.Auth.Users[0]
			if u.Password != tt.want || u.PasswordFile != tt.path {
				t.Errorf("password %q from %q, want %q from %q", u.Password, u.PasswordFile, tt.want, tt.path)
			}
			got := strings.Join(c.Warnings, "\n")
			if (tt.warning == "") != (got == "") || !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q, want one containing %q", got, tt.warning)
			}
			if strings.Contains(got, "plain text") {
				t.Errorf("a password in its own file is warned about as plain text in the config: %q", got)
			}
		})
	}
}

// checkConfigError fails t unless err is a *config.Error at line and key
// whose message contains msg.
func checkConfigError(t *testing.T, err error, line int, key, msg string) {
	t.Helper()
	ce, ok := err.(*config.Error)
	if !ok {
		t.Fatalf("err = %v (%T), want a *config.Error", err, err)
	}
	if ce.Line != line || ce.Key != key || !strings.Contains(ce.Msg, msg) {
		t.Fatalf("error %q, want line %d key %s message containing %q", ce, line, key, msg)
	}
}

func TestSocketGroup(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		gid     uint32
		warning string
		errMsg  string
	}{
		{"by name", "server: {socket: /run/a.sock, socket_group: root}\n", 0, "", ""},
		{"by number", "server: {socket: /run/a.sock, socket_group: \"0\"}\n", 0, "", ""},
		{"number without a name", "server: {socket: /run/a.sock, socket_group: \"4242424\"}\n", 4242424, "", ""},
		{"without a socket", "server: {socket_group: root}\n", 0, "socket_group: ignored: server.socket is empty", ""},
		{"unknown", "server: {socket: /run/a.sock, socket_group: no-such-group-here}\n", 0, "", `unknown group "no-such-group-here"`},
		{"spaces", "server: {socket: /run/a.sock, socket_group: \"a b\"}\n", 0, "", "not a valid group name"},
		{"negative", "server: {socket: /run/a.sock, socket_group: \"-1\"}\n", 0, "", "unknown group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(hostOnly+"auth: {disabled: true}\n"+tt.yaml))
			if tt.errMsg != "" {
				checkConfigError(t, err, 4, "server.socket_group", tt.errMsg)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Server.SocketGID != tt.gid || c.Server.SocketGroup == "" {
				t.Errorf("socket group %q gid %d, want gid %d", c.Server.SocketGroup, c.Server.SocketGID, tt.gid)
			}
			if got := strings.Join(c.Warnings, "\n"); tt.warning != "" && !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q lack %q", got, tt.warning)
			}
		})
	}
}

// testPKI writes a CA, a server certificate it signed, the server's key, a
// second key, and an expired certificate, all PEM, to dir.
type testPKI struct{ ca, cert, key, otherKey, expired, expiredKey, garbage string }

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, notAfter time.Time, key *ecdsa.PrivateKey) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "agent"},
			NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter, DNSNames: []string{"localhost"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	key, other, old := newKey(t), newKey(t), newKey(t)
	w := func(name, typ string, der []byte) string {
		return writeSecret(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})), 0o600)
	}
	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	return testPKI{
		ca:         w("ca.pem", "CERTIFICATE", caDER),
		cert:       w("cert.pem", "CERTIFICATE", leaf(2, time.Now().Add(time.Hour), key)),
		key:        w("key.pem", "EC PRIVATE KEY", keyPEM(key)),
		otherKey:   w("other.pem", "EC PRIVATE KEY", keyPEM(other)),
		expired:    w("expired.pem", "CERTIFICATE", leaf(3, time.Now().Add(-time.Hour), old)),
		expiredKey: w("expired-key.pem", "EC PRIVATE KEY", keyPEM(old)),
		garbage:    writeSecret(t, dir, "garbage.pem", "not pem at all\n", 0o600),
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	// The tls mapping starts on line 6; its keys are on lines 7 and on.
	tlsConfig := func(listen string, keys ...string) string {
		s := hostOnly + "auth: {disabled: true}\nserver:\n  listen: \"" + listen + "\"\n  tls:\n"
		for _, k := range keys {
			s += "    " + k + "\n"
		}
		return s
	}
	tests := []struct {
		name    string
		yaml    string
		want    *config.TLS
		warning string
		errLine int
		errKey  string
		errMsg  string
	}{
		{"cert and key", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.key),
			&config.TLS{Cert: pki.cert, Key: pki.key}, "", 0, "", ""},
		{"mutual", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.key, "client_ca: "+pki.ca),
			&config.TLS{Cert: pki.cert, Key: pki.key, ClientCA: pki.ca}, "", 0, "", ""},
		{"expired", tlsConfig("127.0.0.1:1", "cert: "+pki.expired, "key: "+pki.expiredKey),
			&config.TLS{Cert: pki.expired, Key: pki.expiredKey}, "server.tls.cert: " + pki.expired + " expired on", 0, "", ""},
		{"no listener", tlsConfig("", "cert: "+pki.cert, "key: "+pki.key),
			&config.TLS{Cert: pki.cert, Key: pki.key}, "server.tls: ignored: server.listen is empty", 0, "", ""},
		{"key of another cert", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.otherKey), nil, "", 8, "server.tls.key", "does not go with"},
		{"no key", tlsConfig("127.0.0.1:1", "cert: "+pki.cert), nil, "", 6, "server.tls.key", "required"},
		{"no cert", tlsConfig("127.0.0.1:1", "key: "+pki.key), nil, "", 6, "server.tls.cert", "required"},
		{"empty mapping", hostOnly + "server:\n  tls: {}\n", nil, "", 4, "server.tls.cert", "required"},
		{"cert not PEM", tlsConfig("127.0.0.1:1", "cert: "+pki.garbage, "key: "+pki.key), nil, "", 7, "server.tls.cert", "not in PEM format"},
		{"cert missing", tlsConfig("127.0.0.1:1", "cert: /nonexistent/cert.pem", "key: "+pki.key), nil, "", 7, "server.tls.cert", "no such file"},
		{"relative key", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: key.pem"), nil, "", 8, "server.tls.key", "absolute path"},
		{"client_ca not PEM", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.key, "client_ca: "+pki.garbage), nil, "", 9, "server.tls.client_ca", "not in PEM format"},
		{"client_ca a key", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.key, "client_ca: "+pki.key), nil, "", 9, "server.tls.client_ca", "holds no PEM certificate"},
		{"unknown key", tlsConfig("127.0.0.1:1", "cert: "+pki.cert, "key: "+pki.key, "ciphers: all"), nil, "", 9, "server.tls.ciphers", "unknown key"},
		{"not a mapping", hostOnly + "server:\n  tls: true\n", nil, "", 4, "server.tls", "want a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if tt.errMsg != "" {
				checkConfigError(t, err, tt.errLine, tt.errKey, tt.errMsg)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Server.TLS == nil || *c.Server.TLS != *tt.want {
				t.Errorf("tls = %+v, want %+v", c.Server.TLS, tt.want)
			}
			got := strings.Join(c.Warnings, "\n")
			if tt.warning != "" && !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q lack %q", got, tt.warning)
			}
		})
	}
}

// TestClearTextWarning checks that Basic credentials over plain HTTP off
// the host are warned about, and nothing else is.
func TestClearTextWarning(t *testing.T) {
	pki := newTestPKI(t)
	users := "auth:\n  users:\n    - {name: a, password: \"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy\", permissions: [HOST_VIEWER]}\n"
	const warning = "c.yaml:3: server.tls: not set: HTTP Basic passwords cross the network to 0.0.0.0:62888 in clear text"
	tests := []struct {
		name string
		yaml string
		warn bool
	}{
		{"all interfaces", hostOnly + "server: {listen: \"0.0.0.0:62888\"}\n" + users, true},
		{"with tls", hostOnly + "server: {listen: \"0.0.0.0:62888\", tls: {cert: " + pki.cert + ", key: " + pki.key + "}}\n" + users, false},
		{"loopback", hostOnly + "server: {listen: \"127.0.0.1:62888\"}\n" + users, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(c.Warnings, "\n")
			if strings.Contains(got, warning) != tt.warn {
				t.Errorf("warnings %q; want the clear-text one: %v", got, tt.warn)
			}
		})
	}
}
