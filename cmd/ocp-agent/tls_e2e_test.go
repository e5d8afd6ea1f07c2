package main

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
	"testing"
	"time"
)

// selfSigned writes a certificate for a name no address matches, and its
// key, so that only the CLI's pinning can accept it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agent.invalid"}, DNSNames: []string{"agent.invalid"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestCLIOverTLS runs the CLI against an agent serving server.listen over
// HTTPS with a certificate for another name: the CLI trusts exactly the
// certificate of server.tls.cert.
func TestCLIOverTLS(t *testing.T) {
	e := newEnv(t, demo("obstat2", 185, freePort(t), ""))
	cert, key := selfSigned(t, e.dir)
	cfg, _ := os.ReadFile(e.cfgPath)
	cfg = []byte(strings.Replace(string(cfg), "  name: test-host\n", "  name: test-host\n  tls: {cert: "+cert+", key: "+key+"}\n", 1))
	os.WriteFile(e.cfgPath, cfg, 0o600)
	a := e.launch()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := cli(t, nil, "ps", "--config", e.cfgPath)
		if r.code == 0 && strings.Contains(r.stdout, "obstat2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ps over TLS: status %d, %s\nagent: %s", r.code, r.stderr, a.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The processes the agent started are found through its state at
	// cleanup; the client of launch speaks plain HTTP, so stop it here.
	if r := cli(t, nil, "stop", "obstat2", "--config", e.cfgPath); r.code != 0 {
		t.Errorf("stop over TLS: status %d, %s", r.code, r.stderr)
	}
}
