package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// TLS configures HTTPS on the TCP listener. Every path is absolute, and the
// files were readable and well formed when the config was loaded.
type TLS struct {
	// Cert is the PEM certificate chain the agent presents, leaf first.
	Cert string
	// Key is the PEM private key of Cert.
	Key string
	// ClientCA is a PEM bundle of the authorities whose client
	// certificates are accepted; when set, every client must present one
	// (mutual TLS). "" accepts clients without certificates.
	ClientCA string
}

// Size limits of the files the config points at. They are read at load, so
// that a mistake fails there; the limits keep a path to a log or a device
// from being read whole.
const (
	maxPasswordFile = 4 << 10
	maxPEMFile      = 1 << 20
)

// readSmallFile reads a regular file of at most limit bytes. It opens
// without blocking, so that a path to a FIFO cannot hang the load, and
// refuses anything but a regular file (a device would never end).
func readSmallFile(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, cause(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, cause(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, cause(err)
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, fi, nil
}

// cause drops the path from a *fs.PathError: messages name the file already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// passwordFile reads the password of a user from the file at key
// password_file of m. It holds one line: the password, or its bcrypt hash.
// Keeping it apart from the config lets the config be readable by more
// people than the secret.
func (p *parser) passwordFile(m *mapping, path string) string {
	const k = "password_file"
	if !p.check(m, k, absPath(path)) {
		return ""
	}
	data, fi, err := readSmallFile(path, maxPasswordFile)
	if err != nil {
		p.errorf(m.lineOf(k), m.key(k), "cannot read %s: %v", short(path), err)
		return ""
	}
	pw := strings.TrimRight(string(data), "\r\n")
	switch {
	case pw == "":
		p.errorf(m.lineOf(k), m.key(k), "%s is empty", short(path))
		return ""
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		p.errorf(m.lineOf(k), m.key(k), "%s must hold the password alone on one line, without control characters", short(path))
		return ""
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		p.warnf(m.lineOf(k), m.key(k), "%s can be read by others than its owner (mode %04o); chmod 600 it", short(path), perm)
	}
	if looksBcrypt(pw) && !wellFormedBcrypt(pw) {
		p.warnf(m.lineOf(k), m.key(k), "%s starts like a bcrypt hash but is not a complete one: no password will match it", short(path))
	}
	return pw
}

// socketGroup resolves server.socket_group, a group name or number, to its
// gid, so that a typo fails at load rather than at the socket's chown.
func (p *parser) socketGroup(m *mapping, s *Server) {
	const k = "socket_group"
	v, ok := p.str(m, k)
	if !ok || v == "" {
		return
	}
	gid, err := lookupGroup(v)
	if !p.check(m, k, err) {
		return
	}
	s.SocketGroup, s.SocketGID = v, gid
	if s.Socket == "" {
		p.warnf(m.lineOf(k), m.key(k), "ignored: server.socket is empty")
	}
}

func lookupGroup(v string) (uint32, error) {
	if strings.ContainsAny(v, ":/\x00") || strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return 0, fmt.Errorf("%q is not a valid group name", short(v))
	}
	g, err := user.LookupGroup(v)
	if err != nil {
		if n, nerr := strconv.ParseUint(v, 10, 32); nerr == nil {
			if g, err = user.LookupGroupId(strconv.FormatUint(n, 10)); err != nil {
				return uint32(n), nil // a gid without a name is still a gid
			}
		}
	}
	var unknown user.UnknownGroupError
	switch {
	case errors.As(err, &unknown):
		return 0, fmt.Errorf("unknown group %q on this host", short(v))
	case err != nil:
		return 0, fmt.Errorf("cannot look up group %q: %v", short(v), err)
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("group %q has gid %q", short(v), g.Gid)
	}
	return uint32(gid), nil
}

// tls reads server.tls. The files are loaded and checked here, so that a
// key that does not match its certificate is a config error with its line.
func (p *parser) tls(server *mapping, listen string) *TLS {
	if _, ok := server.vals["tls"]; !ok {
		return nil
	}
	m := p.sub(server, "tls", "cert", "key", "client_ca")
	t := &TLS{}
	certPEM := p.pemFile(m, "cert", &t.Cert, "the PEM certificate the agent presents")
	keyPEM := p.pemFile(m, "key", &t.Key, "the PEM private key of cert")
	if certPEM != nil && keyPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		switch {
		case err != nil:
			p.errorf(m.lineOf("key"), m.key("key"), "does not go with %s: %v", short(t.Cert), err)
		case pair.Leaf != nil && time.Now().After(pair.Leaf.NotAfter):
			p.warnf(m.lineOf("cert"), m.key("cert"), "%s expired on %s: clients will refuse it", short(t.Cert), pair.Leaf.NotAfter.Format(time.DateOnly))
		}
	}
	if _, ok := m.vals["client_ca"]; ok {
		if caPEM := p.pemFile(m, "client_ca", &t.ClientCA, ""); caPEM != nil {
			if !x509.NewCertPool().AppendCertsFromPEM(caPEM) {
				p.errorf(m.lineOf("client_ca"), m.key("client_ca"), "%s holds no PEM certificate", short(t.ClientCA))
			}
		}
	}
	if listen == "" {
		p.warnf(server.lineOf("tls"), server.key("tls"), "ignored: server.listen is empty")
	}
	return t
}

// pemFile reads the PEM file at key k of m, storing its path in dst; nil
// when it is missing or bad, which has been reported. why, when not "",
// makes the key required.
func (p *parser) pemFile(m *mapping, k string, dst *string, why string) []byte {
	path, ok := p.str(m, k)
	if !ok {
		if why != "" {
			p.require(m, k, why)
		}
		return nil
	}
	*dst = path
	if !p.check(m, k, absPath(path)) {
		return nil
	}
	data, _, err := readSmallFile(path, maxPEMFile)
	if err != nil {
		p.errorf(m.lineOf(k), m.key(k), "cannot read %s: %v", short(path), err)
		return nil
	}
	if block, _ := pem.Decode(data); block == nil {
		p.errorf(m.lineOf(k), m.key(k), "%s is not in PEM format", short(path))
		return nil
	}
	return data
}

// transportWarnings says when credentials would cross the network in clear
// text: Basic sends the password itself with every request.
func (p *parser) transportWarnings(top *mapping, c *Config) {
	if c.Server.Listen == "" || c.Server.TLS != nil || isLoopback(c.Server.Listen) || len(c.Auth.Users) == 0 || c.Auth.Disabled {
		return
	}
	p.warnf(top.lineOf("server"), "server.tls", "not set: HTTP Basic passwords cross the network to %s in clear text; configure server.tls, or have the OCP server sign its requests (OCP-HMACSHA256)", c.Server.Listen)
}

// runAsWarning says at load, rather than at the first start, that a
// process's user cannot be honoured: only root can start a process as
// another user.
func (p *parser) runAsWarning(m *mapping, name string) {
	uid := os.Getuid()
	if uid == 0 {
		return
	}
	u, err := user.Lookup(name)
	if err != nil || u.Uid == strconv.Itoa(uid) {
		return
	}
	p.warnf(m.lineOf("user"), m.key("user"),
		"the agent runs as uid %d, not root, so it cannot start processes as %s: starting this one will fail (40014); remove user or run the agent as root", uid, short(name))
}
