package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ocp-agent/ocp-agent/config"
)

// fallbackSocket is server.socket of the packaged config: where the agent
// most likely listens when the config cannot tell.
const fallbackSocket = "/run/ocp-agent/agent.sock"

// fallbackConfig is what the CLI goes on with when the config does not
// load: an admin in the middle of an edit must still be able to look at
// (and reload) the agent, which keeps serving the config it loaded before.
// It reads host.id and server.socket from the file line by line (see
// salvage), takes fallbackSocket when the socket cannot be read, and
// returns nil, leaving the caller to report loadErr, when that socket does
// not exist. It says on stderr what it does.
func (f *agentFlags) fallbackConfig(loadErr error) *config.Config {
	data, _ := os.ReadFile(f.config) // unreadable: nothing salvaged
	id, socket := salvage(data)
	if socket == "" {
		socket = fallbackSocket
	}
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Type() != fs.ModeSocket {
		return nil
	}
	cfg := &config.Config{File: f.config}
	cfg.Host.ID = id
	cfg.Server.Socket = socket
	fmt.Fprintf(f.errOut(), "ocp-agent: config invalid: %v; asking the agent at %s, which keeps the config it loaded last\n", loadErr, socket)
	return cfg
}

var (
	sectionLine = regexp.MustCompile(`^([A-Za-z_]+):\s*(#.*)?$`)
	keyLine     = regexp.MustCompile(`^\s+([A-Za-z_]+):\s*(.*)$`)
)

// salvage reads host.id and server.socket from a config file that may not
// be valid YAML, in the block style of the packaged config: a key indented
// under a top-level section line. What it cannot read is zero.
func salvage(data []byte) (hostID int64, socket string) {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if m := sectionLine.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if line != "" && line[0] != ' ' && line[0] != '\t' && !strings.HasPrefix(line, "#") {
			section = "" // a top-level key with a value: not a section
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v := scalar(m[2])
		switch section + "." + m[1] {
		case "host.id":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				hostID = n
			}
		case "server.socket":
			if strings.HasPrefix(v, "/") {
				socket = v
			}
		}
	}
	return hostID, socket
}

// scalar is a plain or quoted YAML scalar without its trailing comment.
func scalar(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') {
		if end := strings.IndexByte(s[1:], s[0]); end >= 0 {
			return s[1 : end+1]
		}
		return ""
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
