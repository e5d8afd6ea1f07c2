package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// config walks the root node into a Config with every default filled in.
func (p *parser) config(root *yaml.Node) *Config {
	c := &Config{}
	if root == nil || isNull(root) {
		p.errorf(0, "host.id", "required, but the config is empty")
		return c
	}
	top := p.mapping(root, "", root.Line, "host", "server", "auth", "state_dir", "cgroup", "log", "processes")
	c.Host = p.host(top)
	c.Server = p.server(top)
	c.Auth = p.auth(top, c.Server.Listen)
	p.transportWarnings(top, c)
	c.StateDir = p.stateDir(top)
	c.Cgroup = p.cgroup(top)
	c.Log = p.log(top)
	c.Processes = p.processes(top)
	return c
}

func (p *parser) host(top *mapping) Host {
	m := p.sub(top, "host", "id")
	id, ok := p.int(m, "id")
	switch {
	case !ok:
		p.require(m, "id", "the OCP hostId this agent answers for")
	case id <= 0:
		p.errorf(m.lineOf("id"), m.key("id"), "must be > 0, got %d", id)
	}
	return Host{ID: id}
}

func (p *parser) server(top *mapping) Server {
	m := p.sub(top, "server", "listen", "socket", "name", "socket_group", "tls")
	s := Server{Listen: DefaultListen}
	if v, ok := p.str(m, "listen"); ok {
		s.Listen = v
		if v != "" {
			p.check(m, "listen", validListen(v))
		}
	}
	if v, ok := p.str(m, "socket"); ok {
		s.Socket = v
		if v != "" {
			p.check(m, "socket", validSocket(v))
		}
	}
	if v, ok := p.str(m, "name"); ok {
		s.Name = v
	}
	p.socketGroup(m, &s)
	s.TLS = p.tls(m, s.Listen)
	if s.Name == "" {
		name, err := os.Hostname()
		if err == nil && name == "" {
			err = errors.New("it is empty")
		}
		if err != nil {
			name = "localhost"
			p.warnf(m.lineOf("name"), m.key("name"), "cannot read the host name (%v); using %q", err, name)
		}
		s.Name = name
	}
	if s.Listen == "" && s.Socket == "" {
		p.warnf(m.lineOf("listen"), m.key("listen"), "listen and socket are both empty: the agent serves no API")
	}
	return s
}

func (p *parser) auth(top *mapping, listen string) Auth {
	m := p.sub(top, "auth", "users", "disabled")
	a := Auth{Users: p.users(m)}
	a.Disabled = p.bool(m, "disabled", false)
	switch {
	case a.Disabled && listen != "" && !isLoopback(listen):
		p.errorf(m.lineOf("disabled"), m.key("disabled"),
			"true is allowed only when server.listen is a loopback address (127.0.0.1, ::1, localhost) or \"\"; it is %q", listen)
	case a.Disabled:
		p.warnf(m.lineOf("disabled"), m.key("disabled"), "authentication is disabled: anyone on this host can stop and start processes through %s", listen)
		if len(a.Users) > 0 {
			p.warnf(m.lineOf("users"), m.key("users"), "ignored on the TCP listener because auth.disabled is true")
		}
	case len(a.Users) == 0 && listen != "":
		// Point at auth only when it is written: line 1 would mislead.
		line := m.lines["users"]
		if line == 0 {
			line = top.lines["auth"]
		}
		p.warnf(line, m.key("users"), "no users: the HTTP API on %s refuses every protected route (401)", listen)
	}
	return a
}

func (p *parser) users(auth *mapping) []User {
	items := p.seq(auth, "users")
	var users []User
	names := map[string]*mapping{}
	for i, it := range items {
		m := p.mapping(it, fmt.Sprintf("%s[%d]", auth.key("users"), i), it.Line, "name", "password", "password_file", "permissions")
		u := User{Line: it.Line}
		if v, ok := p.str(m, "name"); ok {
			u.Name = v
			if p.check(m, "name", validUserName(v)) {
				p.unique(m, "name", v, names)
			}
		} else {
			p.require(m, "name", "")
		}
		pw, hasPW := p.str(m, "password")
		file, hasFile := p.str(m, "password_file")
		switch {
		case hasPW && hasFile:
			p.errorf(m.lineOf("password_file"), m.key("password_file"), "set password or password_file, not both (password is on line %d)", m.lineOf("password"))
		case hasFile:
			u.Password, u.PasswordFile = p.passwordFile(m, file), file
		case hasPW:
			u.Password = pw
			p.password(m, pw)
		default:
			p.require(m, "password", "a bcrypt hash, or the plain password (or password_file: a file holding either)")
		}
		u.Permissions = p.permissions(m)
		users = append(users, u)
	}
	return users
}

func (p *parser) password(m *mapping, v string) {
	switch {
	case v == "":
		p.errorf(m.lineOf("password"), m.key("password"), "must not be empty")
	case !looksBcrypt(v):
		p.warnf(m.lineOf("password"), m.key("password"),
			"stored in plain text; a bcrypt hash ($2a$...) is safer, but OCP-HMACSHA256 signing needs the plain value")
	case !wellFormedBcrypt(v):
		p.warnf(m.lineOf("password"), m.key("password"),
			"starts like a bcrypt hash but is not a complete one (60 characters, like $2a$10$ and 53 more): no password will match it")
	}
}

func (p *parser) permissions(m *mapping) []string {
	v, ok := m.vals["permissions"]
	if !ok {
		p.require(m, "permissions", "a list of "+strings.Join(permissions, ", "))
		return nil
	}
	items := p.seq(m, "permissions")
	if v.Kind == yaml.SequenceNode && len(items) == 0 {
		p.errorf(v.Line, m.key("permissions"), "must list at least one of %s", strings.Join(permissions, ", "))
	}
	perms := make([]string, 0, len(items))
	for i, it := range items {
		key := fmt.Sprintf("%s[%d]", m.key("permissions"), i)
		v, ok := p.scalar(it, key, "a permission ("+strings.Join(permissions, " or ")+")")
		if !ok {
			continue
		}
		if !slices.Contains(permissions, v) {
			p.errorf(it.Line, key, "unknown permission %q; want %s", short(v), strings.Join(permissions, " or "))
			continue
		}
		perms = append(perms, v)
	}
	return perms
}

func (p *parser) stateDir(top *mapping) string {
	v, ok := p.str(top, "state_dir")
	if !ok {
		return DefaultStateDir
	}
	if !p.check(top, "state_dir", absPath(v)) {
		return v
	}
	return filepath.Clean(v)
}

// cgroup reads the containment setting: auto, off, or an absolute path
// (whether the path is below a writable cgroup2 mount is decided when the
// agent opens it, on the host where it runs).
func (p *parser) cgroup(top *mapping) string {
	v, ok := p.str(top, "cgroup")
	if !ok {
		return DefaultCgroup
	}
	if v == CgroupAuto || v == CgroupOff {
		return v
	}
	if err := absPath(v); err != nil {
		p.errorf(top.vals["cgroup"].Line, top.key("cgroup"), "want auto, off or an absolute path under a cgroup2 mount, got %q", short(v))
		return v
	}
	return filepath.Clean(v)
}

func (p *parser) log(top *mapping) Log {
	m := p.sub(top, "log", "level", "format", "file", "max_size", "max_backups")
	l := Log{Level: DefaultLogLevel, MaxSizeMB: DefaultLogMaxSizeMB, MaxBackups: DefaultLogMaxBackups}
	if v, ok := p.str(m, "level"); ok {
		l.Level = strings.ToLower(v)
		if !slices.Contains(logLevels, l.Level) {
			p.errorf(m.lineOf("level"), m.key("level"), "want one of %s, got %s", strings.Join(logLevels, ", "), describe(m.vals["level"]))
		}
	}
	if v, ok := p.str(m, "file"); ok {
		l.File = v
		p.check(m, "file", noNUL(v))
	}
	p.logRotation(m, &l)
	return l
}

// check reports err, if any, as a problem with the value of key k of m, and
// says whether there was none.
func (p *parser) check(m *mapping, k string, err error) bool {
	if err == nil {
		return true
	}
	p.errorf(m.vals[k].Line, m.key(k), "%v", err)
	return false
}

// unique reports key k of the list item m as a duplicate when another item
// already has value v; seen maps each value to the first item that has it.
func (p *parser) unique(m *mapping, k, v string, seen map[string]*mapping) {
	if first, dup := seen[v]; dup {
		p.errorf(m.vals[k].Line, m.key(k), "%q is already used by %s (line %d)", short(v), first.path, first.vals[k].Line)
		return
	}
	seen[v] = m
}
