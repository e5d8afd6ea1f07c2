package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The managed processes of a benchmark phase: n that listen on a port,
// and with ops a cooperative one and a stubborn one to stop.
const (
	aliasCoop     = "coop"
	aliasStubborn = "stubborn"
	stubbornGrace = 1 // seconds, both managers
)

type program struct {
	alias   string
	id      int64
	command string
	grace   int // seconds before SIGKILL
}

func programs(managed, dir string, n int, ops bool) []program {
	var ps []program
	for i := 1; i <= n; i++ {
		ps = append(ps, program{alias: fmt.Sprintf("p%04d", i), id: int64(i), command: managed + " -mode listen", grace: 10})
	}
	if ops {
		ps = append(ps,
			program{alias: aliasCoop, id: int64(n + 1), command: managed + " -mode term", grace: 10},
			program{alias: aliasStubborn, id: int64(n + 2), command: managed + " -mode ignore -mark " + markFile(dir), grace: stubbornGrace})
	}
	return ps
}

// healthInterval is how often the health phase checks each program.
const healthInterval = 10 * time.Second

// freePorts returns n loopback ports that nothing listens on now, all
// held open at once so that they differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// markFile is where the stubborn program writes when it got SIGTERM.
func markFile(dir string) string { return filepath.Join(dir, "stubborn.mark") }

// writeConfigs writes dir/supervisord.conf and dir/agent.yaml for the same
// programs, with the same start wait (1 s: supervisord's startsecs
// default, the agent's start_wait default) and stop graces, each manager
// signalling the process group and keeping the programs' output in files.
// supervisord's own directories are under dir/sv, the agent's under
// dir/agent.
//
// With health (the agent alone), each listening program gets a port of
// its own and a TCP health check on it every 10 s.
func writeConfigs(dir, managed, addr string, n int, ops, health bool) error {
	ps := programs(managed, dir, n, ops)
	var ports []int
	if health {
		var err error
		if ports, err = freePorts(n); err != nil {
			return err
		}
	}
	for _, d := range []string{"sv/logs", "agent"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	var sv strings.Builder
	fmt.Fprintf(&sv, `[unix_http_server]
file=%[1]s/sv/supervisor.sock

[supervisord]
logfile=%[1]s/sv/supervisord.log
pidfile=%[1]s/sv/supervisord.pid
childlogdir=%[1]s/sv/logs
nodaemon=true
minfds=%[2]d

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`, dir, 1024+8*len(ps))
	for _, p := range ps {
		fmt.Fprintf(&sv, `
[program:%s]
command=%s
autostart=true
autorestart=true
startsecs=1
stopwaitsecs=%d
stopasgroup=true
killasgroup=true
`, p.alias, p.command, p.grace)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(agentPassword), 10)
	if err != nil {
		return err
	}
	var ag strings.Builder
	fmt.Fprintf(&ag, `host:
  id: %d
server:
  listen: %q
auth:
  users:
    - name: %s
      password: %q
      permissions: [HOST_VIEWER, HOST_MANAGER]
state_dir: %s/agent/state
log:
  level: info
processes:
`, agentHostID, addr, agentUser, hash, dir)
	for i, p := range ps {
		command := p.command
		if health && i < len(ports) {
			command += fmt.Sprintf(" -port %d", ports[i])
		}
		fmt.Fprintf(&ag, `  - alias: %s
    id: %d
    start_command: %q
    stop_timeout: %ds
    start_wait: 1s
`, p.alias, p.id, command, p.grace)
		if health && i < len(ports) {
			fmt.Fprintf(&ag, `    health:
      tcp: %d
      interval: %s
`, ports[i], healthInterval)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "supervisord.conf"), []byte(sv.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "agent.yaml"), []byte(ag.String()), 0o644)
}
