package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/ocp-agent/ocp-agent/config"
)

// pinnedTLS returns the TLS settings to reach an agent that serves
// server.listen over HTTPS. The CLI runs on the agent's host and reads the
// certificate the agent presents from server.tls.cert, so it trusts exactly
// that certificate: no CA, host name or address needs to match.
func pinnedTLS(t *config.TLS) (*tls.Config, error) {
	if t.ClientCA != "" {
		return nil, usageError("server.listen requires client certificates (server.tls.client_ca): configure server.socket for the local CLI")
	}
	data, err := os.ReadFile(t.Cert)
	if err != nil {
		return nil, fmt.Errorf("read the agent's certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", t.Cert)
	}
	want := block.Bytes
	return &tls.Config{
		// Verification is the pin below, which is stricter than a chain.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the agent presented another certificate than server.tls.cert")
			}
			return nil
		},
	}, nil
}
