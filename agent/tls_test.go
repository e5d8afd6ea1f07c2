package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/ocp-agent/ocp-agent/config"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue returns a certificate for cn signed by ca, for a server (on
// 127.0.0.1) or a client, with its key, both PEM.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// tlsServer serves the API over TLS on a real listener.
type tlsServer struct {
	addr string
	ca   *testCA // signs the server's and the accepted clients' certificates
}

func serveTLS(t *testing.T, mutual bool) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, "agent test CA")
	certPEM, keyPEM := ca.issue(t, "agent", true)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := &config.TLS{Cert: write("cert.pem", certPEM), Key: write("key.pem", keyPEM)}
	if mutual {
		c.ClientCA = write("ca.pem", ca.pem)
	}
	tlsCfg, err := serverTLSConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(ServerConfig{HostID: testHostID, ServerName: "test-host", Users: testUsers(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))}, newFakeService())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h, serverLimits{readHeaderTimeout: time.Second, idleTimeout: time.Second, maxHeaderBytes: 8 << 10}, zap.NewNop())
	go srv.Serve(tls.NewListener(ln, tlsCfg))
	t.Cleanup(func() { srv.Close() })
	return &tlsServer{addr: ln.Addr().String(), ca: ca}
}

// get lists the processes over TLS as viewer, with the client settings of
// edit, and returns the status or the error.
func (s *tlsServer) get(t *testing.T, edit func(*tls.Config)) (int, string, error) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(s.ca.cert)
	cfg := &tls.Config{RootCAs: roots}
	if edit != nil {
		edit(cfg)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	req, _ := http.NewRequest("GET", "https://"+s.addr+procs, nil)
	req.SetBasicAuth("viewer", viewerPassword)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Proto, nil
}

func clientCert(t *testing.T, ca *testCA) tls.Certificate {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "ocp-server", false)
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTLS(t *testing.T) {
	plain := serveTLS(t, false)
	mutual := serveTLS(t, true)
	stranger := newTestCA(t, "another CA")
	tests := []struct {
		name   string
		server *tlsServer
		edit   func(*tls.Config)
		status int    // 0: the connection is refused
		errIn  string // in the error, when refused
	}{
		{"TLS 1.3", plain, nil, 200, ""},
		{"TLS 1.2", plain, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, 200, ""},
		{"TLS 1.1", plain, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, 0, "protocol version"},
		{"CBC suite only", plain, func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		}, 0, "handshake failure"},
		{"unknown server", plain, func(c *tls.Config) { c.RootCAs = x509.NewCertPool() }, 0, "certificate"},
		{"mutual with a client certificate", mutual, func(c *tls.Config) { c.Certificates = []tls.Certificate{clientCert(t, mutual.ca)} }, 200, ""},
		{"mutual without a client certificate", mutual, nil, 0, "certificate required"},
		{"mutual, TLS 1.2, without a client certificate", mutual, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, 0, "handshake failure"},
		{"mutual with another CA's certificate", mutual, func(c *tls.Config) {
			cert := clientCert(t, stranger) // sent although the server asks for its own CA's
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}, 0, "unknown certificate authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, proto, err := tt.server.get(t, tt.edit)
			if tt.status == 0 {
				if err == nil || !strings.Contains(err.Error(), tt.errIn) {
					t.Fatalf("status %d, err %v; want refused with %q", status, err, tt.errIn)
				}
				return
			}
			if err != nil || status != tt.status {
				t.Fatalf("status %d, err %v; want %d", status, err, tt.status)
			}
			if proto != "HTTP/1.1" {
				t.Errorf("protocol %s, want HTTP/1.1 only", proto)
			}
		})
	}
}

// TestTLSStillNeedsCredentials checks that a client certificate only opens
// the connection: the request still needs credentials of a user.
func TestTLSStillNeedsCredentials(t *testing.T) {
	s := serveTLS(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(s.ca.cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert(t, s.ca)}}}}
	resp, err := c.Post("https://"+s.addr+procs+"/185/stop", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("stop with a client certificate and no credentials: %d", resp.StatusCode)
	}
}

// TestTLSPlainClient checks that plain HTTP to the TLS port is answered
// without acting.
func TestTLSPlainClient(t *testing.T) {
	s := serveTLS(t, false)
	resp, err := http.Post("http://"+s.addr+procs+"/185/stop", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("plain HTTP to the TLS listener: %d", resp.StatusCode)
	}
}

// TestTLSIdleHandshake checks that a client that connects and never starts
// the handshake neither blocks others nor is kept.
func TestTLSIdleHandshake(t *testing.T) {
	s := serveTLS(t, false)
	idle, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	start := time.Now()
	if status, _, err := s.get(t, nil); err != nil || status != 200 {
		t.Fatalf("request beside an idle connection: %d %v", status, err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("request took %v beside an idle connection", d)
	}
	// The server gives up on it after its read-header timeout (1s here).
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection read: %v, want EOF (closed by the server)", err)
	}
}

func TestServerTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "ca")
	certPEM, keyPEM := ca.issue(t, "agent", true)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	for _, tt := range []struct {
		name string
		c    config.TLS
		want string
	}{
		{"missing key", config.TLS{Cert: cert, Key: filepath.Join(dir, "none")}, "load the TLS certificate"},
		{"swapped", config.TLS{Cert: key, Key: cert}, "load the TLS certificate"},
		{"missing CA", config.TLS{Cert: cert, Key: key, ClientCA: filepath.Join(dir, "none")}, "load the TLS client CA"},
		{"CA without certificate", config.TLS{Cert: cert, Key: key, ClientCA: key}, "no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := serverTLSConfig(&tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
