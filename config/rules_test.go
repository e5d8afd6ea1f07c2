package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

// hostOnly is the smallest valid config, on lines 1-2.
const hostOnly = "host:\n  id: 1\n"

// proc returns a config with one valid process (lines 3-5) and the given
// keys of it on lines 6 and on.
func proc(keys ...string) string {
	s := hostOnly + "processes:\n  - alias: p\n    start_command: /bin/true\n"
	for _, k := range keys {
		s += "    " + k + "\n"
	}
	return s
}

// user returns a config with one user whose keys are on lines 5 and on.
func user(name, password, permissions string) string {
	return hostOnly + "auth:\n  users:\n    - name: " + name + "\n      password: " + password + "\n      permissions: " + permissions + "\n"
}

// ruleCases are configs that break one rule each: the problem must be
// reported at Line, under Key, with a message containing Msg.
var ruleCases = []struct {
	name string
	yaml string
	line int
	key  string
	msg  string
}{
	// Document.
	{"empty file", "", 0, "host.id", "config is empty"},
	{"only comments", "# nothing\n", 0, "host.id", "config is empty"},
	{"null document", "~\n", 0, "host.id", "config is empty"},
	{"top level list", "- host\n", 1, "", "want a mapping of keys (host, server"},
	{"top level scalar", "hello\n", 1, "", "want a mapping"},
	{"syntax error", "host:\n  id: 1\nserver: [\n", 3, "", "invalid YAML"},
	{"tab indentation", "host:\n\tid: 1\n", 2, "", "invalid YAML"},
	{"second document", hostOnly + "---\nhost:\n  id: 2\n", 3, "", "second YAML document"},
	{"alias", "host: &h\n  id: 1\nlog: *h\n", 3, "log", "aliases"},
	{"non-scalar key", hostOnly + "? [a]\n: b\n", 3, "", "keys must be plain words"},
	{"unknown top-level key", hostOnly + "hosts: 1\n", 3, "hosts", `unknown key; valid keys here are host, server, auth, state_dir, cgroup, log, processes`},
	{"unknown nested key", "host:\n  id: 1\n  name: x\n", 3, "host.name", "unknown key"},
	{"unknown process key", proc("stop_timout: 10s"), 6, "processes[0].stop_timout", "unknown key"},
	{"unknown key with odd characters", hostOnly + "\"a b\": 1\n", 3, `"a b"`, "unknown key"},
	{"merge key", "host:\n  <<: {id: 1}\n", 2, "host.<<", "unknown key"},
	{"duplicate top-level key", "host:\n  id: 1\nhost:\n  id: 2\n", 3, "host", "duplicate key (first set on line 1)"},
	{"duplicate nested key", "host:\n  id: 1\n  id: 2\n", 3, "host.id", "duplicate key"},
	{"duplicate process key", proc("alias: q"), 6, "processes[0].alias", "duplicate key (first set on line 4)"},
	{"earliest problem wins", "host:\n  id: 0\nlog:\n  level: loud\n", 2, "host.id", "must be > 0"},

	// host.
	{"host misspelt", "hots:\n  id: 1\n", 1, "hots", "unknown key"},
	{"host missing", "log: {level: info}\n", 1, "host.id", "required"},
	{"host empty", "host: {}\n", 1, "host.id", "required"},
	{"host not a mapping", "host: 5\n", 1, "host", "want a mapping of keys (id), got 5"},
	{"host.id misspelt", "host:\n  idd: 5\n", 2, "host.idd", "unknown key; valid keys here are id"},
	{"host.id null", "host:\n  id:\n", 2, "host.id", "required"},
	{"host.id zero", "host:\n  id: 0\n", 2, "host.id", "must be > 0, got 0"},
	{"host.id negative", "host:\n  id: -4\n", 2, "host.id", "must be > 0, got -4"},
	{"host.id fraction", "host:\n  id: 20.5\n", 2, "host.id", "want a whole number like 20, got 20.5"},
	{"host.id word", "host:\n  id: abc\n", 2, "host.id", `got "abc"`},
	{"host.id quoted", "host:\n  id: \"20\"\n", 2, "host.id", `got the quoted string "20"`},
	{"host.id hex", "host:\n  id: 0x14\n", 2, "host.id", "want a whole number"},
	{"host.id too big", "host:\n  id: 9223372036854775808\n", 2, "host.id", "9223372036854775808 is out of range"},
	{"host.id far too big", "host:\n  id: 99999999999999999999\n", 2, "host.id", "want a whole number"},
	{"host.id list", "host:\n  id: [1]\n", 2, "host.id", "got a list"},

	// server.
	{"server not a mapping", hostOnly + "server: [a]\n", 3, "server", "want a mapping"},
	{"listen without port", hostOnly + "server:\n  listen: localhost\n", 4, "server.listen", "want host:port"},
	{"listen named port", hostOnly + "server:\n  listen: \"127.0.0.1:http\"\n", 4, "server.listen", `port "http" is not a number`},
	{"listen port too big", hostOnly + "server:\n  listen: \"127.0.0.1:65536\"\n", 4, "server.listen", "0 to 65535"},
	{"listen negative port", hostOnly + "server:\n  listen: \"127.0.0.1:-1\"\n", 4, "server.listen", "0 to 65535"},
	{"listen bare IPv6", hostOnly + "server:\n  listen: \"::1:80\"\n", 4, "server.listen", "want host:port"},
	{"listen bad host", hostOnly + "server:\n  listen: \"my host:80\"\n", 4, "server.listen", "not an IP address or a host name"},
	{"listen not a string", hostOnly + "server:\n  listen: {a: 1}\n", 4, "server.listen", "want a string, got a mapping"},
	{"socket relative", hostOnly + "server:\n  socket: run/agent.sock\n", 4, "server.socket", "want an absolute path"},
	{"socket too long", hostOnly + "server:\n  socket: /" + strings.Repeat("s", 120) + "\n", 4, "server.socket", "too long for a unix socket"},

	// auth.
	{"auth not a mapping", hostOnly + "auth: true\n", 3, "auth", "want a mapping"},
	{"users not a list", hostOnly + "auth:\n  users: {name: a}\n", 4, "auth.users", "want a list, got a mapping"},
	{"user not a mapping", hostOnly + "auth:\n  users:\n    - ocp\n", 5, "auth.users[0]", "want a mapping"},
	{"user without name", hostOnly + "auth:\n  users:\n    - password: pw\n      permissions: [HOST_VIEWER]\n", 5, "auth.users[0].name", "required"},
	{"user empty name", user(`""`, "pw", "[HOST_VIEWER]"), 5, "auth.users[0].name", "must not be empty"},
	{"user name with colon", user(`"a:b"`, "pw", "[HOST_VIEWER]"), 5, "auth.users[0].name", "must not contain ':'"},
	{"user without password", hostOnly + "auth:\n  users:\n    - name: a\n      permissions: [HOST_VIEWER]\n", 5, "auth.users[0].password", "required"},
	{"user empty password", user("a", `""`, "[HOST_VIEWER]"), 6, "auth.users[0].password", "must not be empty"},
	{"user without permissions", hostOnly + "auth:\n  users:\n    - name: a\n      password: pw\n", 5, "auth.users[0].permissions", "required"},
	{"user empty permissions", user("a", "pw", "[]"), 7, "auth.users[0].permissions", "at least one of HOST_VIEWER, HOST_MANAGER"},
	{"permissions not a list", user("a", "pw", "HOST_VIEWER"), 7, "auth.users[0].permissions", "want a list"},
	{"unknown permission", user("a", "pw", "[HOST_VIEWER, HOST_MANAGER, ADMIN]"), 7, "auth.users[0].permissions[2]", `unknown permission "ADMIN"`},
	{"lower-case permission", user("a", "pw", "[host_viewer]"), 7, "auth.users[0].permissions[0]", "unknown permission"},
	{"permission not a string", user("a", "pw", "[[HOST_VIEWER]]"), 7, "auth.users[0].permissions[0]", "want a permission"},
	{"duplicate user", hostOnly + "auth:\n  users:\n    - {name: a, password: x, permissions: [HOST_VIEWER]}\n    - {name: a, password: y, permissions: [HOST_VIEWER]}\n", 6, "auth.users[1].name", `"a" is already used by auth.users[0] (line 5)`},
	{"disabled yes", hostOnly + "auth:\n  disabled: yes\n", 4, "auth.disabled", `want true or false, got "yes"`},
	{"disabled on all interfaces", hostOnly + "server:\n  listen: \"0.0.0.0:62888\"\nauth:\n  disabled: true\n", 6, "auth.disabled", "only when server.listen is a loopback address"},
	{"disabled on empty host", hostOnly + "server:\n  listen: \":62888\"\nauth:\n  disabled: true\n", 6, "auth.disabled", "loopback"},
	{"disabled on a host name", hostOnly + "server:\n  listen: \"example.com:62888\"\nauth:\n  disabled: true\n", 6, "auth.disabled", "loopback"},

	// state_dir and log.
	{"state_dir relative", hostOnly + "state_dir: var/lib\n", 3, "state_dir", "want an absolute path"},
	{"state_dir empty", hostOnly + "state_dir: \"\"\n", 3, "state_dir", "want an absolute path"},
	{"cgroup relative", hostOnly + "cgroup: sys/fs/cgroup\n", 3, "cgroup", "want auto, off or an absolute path"},
	{"cgroup empty", hostOnly + "cgroup: \"\"\n", 3, "cgroup", "want auto, off or an absolute path"},
	{"cgroup unknown word", hostOnly + "cgroup: on\n", 3, "cgroup", `got "on"`},
	{"cgroup a list", hostOnly + "cgroup: [auto]\n", 3, "cgroup", ""},
	{"log level unknown", hostOnly + "log:\n  level: verbose\n", 4, "log.level", `want one of debug, info, warn, error, got "verbose"`},
	{"log file with NUL", hostOnly + "log:\n  file: \"a\\0b\"\n", 4, "log.file", "NUL"},

	// processes: the list.
	{"processes not a list", hostOnly + "processes:\n  alias: p\n", 4, "processes", "want a list, got a mapping"},
	// Process options.
	{"directory relative", proc("directory: opt/ob"), 6, "processes[0].directory", `want an absolute path, got "opt/ob"`},
	{"directory list", proc("directory: [a]"), 6, "processes[0].directory", "want a string, got a list"},
	{"environment a list", proc("environment: [A=1]"), 6, "processes[0].environment", "want a mapping of NAME: value, got a list"},
	{"environment a string", proc("environment: A=1"), 6, "processes[0].environment", "want a mapping"},
	{"environment bad name", proc("environment:", "  1A: x"), 7, "processes[0].environment.1A", "not a valid variable name"},
	{"environment name with a dash", proc("environment:", "  A-B: x"), 7, "processes[0].environment.A-B", "not a valid variable name"},
	{"environment name with a space", proc("environment:", `  "A B": x`), 7, `processes[0].environment."A B"`, "not a valid variable name"},
	{"environment duplicate", proc("environment:", "  A: x", "  A: y"), 8, "processes[0].environment.A", "duplicate variable (first set on line 7)"},
	{"environment null value", proc("environment:", "  A:"), 7, "processes[0].environment.A", `want a string (write "" for an empty value), got nothing`},
	{"environment mapping value", proc("environment:", "  A: {b: 1}"), 7, "processes[0].environment.A", "got a mapping"},
	{"environment reserved", proc("environment: {OCP_AGENT_LAUNCH: x}"), 6, "processes[0].environment.OCP_AGENT_LAUNCH", "set by the agent"},
	{"environment_file relative", proc("environment_file: env"), 6, "processes[0].environment_file", "want an absolute path"},
	{"umask not octal", proc(`umask: "089"`), 6, "processes[0].umask", `want an octal mask like "022", got "089"`},
	{"umask word", proc("umask: u=rwx"), 6, "processes[0].umask", "want an octal mask"},
	{"umask too big", proc(`umask: "1777"`), 6, "processes[0].umask", "above 0777"},
	{"limits not a mapping", proc("limits: 10"), 6, "processes[0].limits", "want a mapping of keys (nofile, nproc, core, memlock, stack)"},
	{"limits unknown", proc("limits:", "  nofiles: 10"), 7, "processes[0].limits.nofiles", "unknown key; valid keys here are nofile, nproc, core, memlock, stack"},
	{"limits negative", proc("limits: {nofile: -1}"), 6, "processes[0].limits.nofile", "must be >= 0 or unlimited, got -1"},
	{"limits fraction", proc("limits:", "  nproc: 1.5"), 7, "processes[0].limits.nproc", "want a count or unlimited, got 1.5"},
	{"limits quoted", proc("limits:", `  nofile: "10"`), 7, "processes[0].limits.nofile", `want a count or unlimited, got the quoted string "10"`},
	{"limits suffix", proc("limits:", "  stack: 8M"), 7, "processes[0].limits.stack", `want a number of bytes, got "8M"; for 8MiB write 8388608`},
	{"limits suffix on a count", proc("limits:", "  nofile: 64K"), 7, "processes[0].limits.nofile", `want a count or unlimited, got "64K"`},
	{"limits infinity", proc("limits:", "  core: infinity"), 7, "processes[0].limits.core", `want bytes or unlimited, got "infinity"`},
	{"limits too big", proc("limits:", "  core: 18446744073709551616"), 7, "processes[0].limits.core", "want bytes or unlimited"},
	{"limits max uint64", proc("limits:", "  core: 18446744073709551615"), 7, "processes[0].limits.core", "out of range; write unlimited"},
	{"process not a mapping", hostOnly + "processes:\n  - p\n", 4, "processes[0]", "want a mapping"},
	{"process empty", hostOnly + "processes:\n  -\n", 4, "processes[0].alias", "required"},

	// processes: alias.
	{"alias missing", hostOnly + "processes:\n  - start_command: x\n", 4, "processes[0].alias", "required"},
	{"alias with space", hostOnly + "processes:\n  - alias: a b\n    start_command: x\n", 4, "processes[0].alias", "not a valid alias"},
	{"alias starting with dot", hostOnly + "processes:\n  - alias: .hidden\n    start_command: x\n", 4, "processes[0].alias", "not a valid alias"},
	{"alias with slash", hostOnly + "processes:\n  - alias: a/b\n    start_command: x\n", 4, "processes[0].alias", "not a valid alias"},
	{"alias too long", hostOnly + "processes:\n  - alias: " + strings.Repeat("a", 65) + "\n    start_command: x\n", 4, "processes[0].alias", "1 to 64"},
	{"alias empty", hostOnly + "processes:\n  - alias: \"\"\n    start_command: x\n", 4, "processes[0].alias", "not a valid alias"},
	{"alias reserved", hostOnly + "processes:\n  - alias: ocp_agentd\n    start_command: x\n", 4, "processes[0].alias", "reserved"},
	{"alias all digits", hostOnly + "processes:\n  - alias: 185\n    start_command: x\n", 4, "processes[0].alias", "all digits"},
	{"alias duplicate", proc() + "  - alias: q\n    start_command: x\n  - alias: p\n    start_command: y\n", 8, "processes[2].alias", `"p" is already used by processes[0] (line 4)`},

	// processes: id.
	{"id zero", proc("id: 0"), 6, "processes[0].id", "must be > 0"},
	{"id negative", proc("id: -1"), 6, "processes[0].id", "must be > 0"},
	{"id fraction", proc("id: 1.5"), 6, "processes[0].id", "want a whole number"},
	{"id word", proc("id: one"), 6, "processes[0].id", "want a whole number"},
	{"id duplicate", proc("id: 7") + "  - alias: q\n    start_command: x\n    id: 7\n", 9, "processes[1].id", "7 is already the id of processes[0] (line 6)"},

	// processes: start_command, user, pid_file, match.
	{"start_command missing", hostOnly + "processes:\n  - alias: p\n", 4, "processes[0].start_command", "required"},
	{"start_command null", hostOnly + "processes:\n  - alias: p\n    start_command:\n", 5, "processes[0].start_command", "required"},
	{"start_command blank", hostOnly + "processes:\n  - alias: p\n    start_command: \"  \"\n", 5, "processes[0].start_command", "must not be blank"},
	{"start_command list", hostOnly + "processes:\n  - alias: p\n    start_command: [sleep, 1]\n", 5, "processes[0].start_command", "want a string, got a list"},
	{"user unknown", proc("user: no-such-user-ocp-agent"), 6, "processes[0].user", "unknown user"},
	{"user invalid", proc("user: \"a:b\""), 6, "processes[0].user", "not a valid user name"},
	{"pid_file relative", proc("pid_file: run/p.pid"), 6, "processes[0].pid_file", "want an absolute path"},
	{"match invalid", proc("match: \"obstat2 (\""), 6, "processes[0].match", "not a valid regular expression"},

	// processes: stop_signal.
	{"stop_signal number", proc("stop_signal: 15"), 6, "processes[0].stop_signal", "signal numbers are not accepted; use a name such as TERM"},
	{"stop_signal unknown", proc("stop_signal: TERMINATE"), 6, "processes[0].stop_signal", `unknown signal "TERMINATE"; use a name such as TERM, INT`},
	{"stop_signal empty", proc(`stop_signal: ""`), 6, "processes[0].stop_signal", "unknown signal"},
	{"stop_signal STOP", proc("stop_signal: SIGSTOP"), 6, "processes[0].stop_signal", "suspends"},

	// processes: durations.
	{"stop_timeout bare number", proc("stop_timeout: 10"), 6, "processes[0].stop_timeout", "10 has no unit; add one, like 10s"},
	{"stop_timeout quoted number", proc(`stop_timeout: "10"`), 6, "processes[0].stop_timeout", "has no unit"},
	{"stop_timeout fraction", proc("stop_timeout: 1.5"), 6, "processes[0].stop_timeout", "has no unit"},
	{"stop_timeout zero", proc("stop_timeout: 0s"), 6, "processes[0].stop_timeout", "must be > 0, got 0s"},
	{"stop_timeout negative", proc("stop_timeout: -1s"), 6, "processes[0].stop_timeout", "must be > 0"},
	{"stop_timeout word", proc("stop_timeout: soon"), 6, "processes[0].stop_timeout", `want a duration like 10s or 500ms, got "soon"`},
	{"stop_timeout list", proc("stop_timeout: [1s]"), 6, "processes[0].stop_timeout", "want a duration"},
	{"start_wait bare zero", proc("start_wait: 0"), 6, "processes[0].start_wait", "has no unit"},
	{"start_wait negative", proc("start_wait: -500ms"), 6, "processes[0].start_wait", "must be >= 0, got -500ms"},

	// processes: booleans.
	{"operable yes", proc("operable: yes"), 6, "processes[0].operable", `want true or false, got "yes"`},
	{"autostart on", proc("autostart: on"), 6, "processes[0].autostart", "want true or false"},
	{"autorestart 1", proc("autorestart: 1"), 6, "processes[0].autorestart", "want true or false, got 1"},
	{"operable quoted", proc(`operable: "true"`), 6, "processes[0].operable", `got the quoted string "true"`},
	{"autorestart list", proc("autorestart: [true]"), 6, "processes[0].autorestart", "got a list"},
}

func TestParseRules(t *testing.T) {
	for _, tt := range ruleCases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error", c)
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v (%T), want a *config.Error", err, err)
			}
			if cerr.File != "c.yaml" || cerr.Line != tt.line || cerr.Key != tt.key || !strings.Contains(cerr.Msg, tt.msg) {
				t.Errorf("err = %q\nwant c.yaml, line %d, key %q, message containing %q", err, tt.line, tt.key, tt.msg)
			}
		})
	}
}

// acceptCases are configs on the edge of the rules that must load.
var acceptCases = []struct {
	name  string
	yaml  string
	check func(*config.Config) bool
}{
	{"null values take defaults", "host:\n  id: 1\nserver:\n  listen:\n  socket: ~\nauth:\nlog:\nprocesses:\nstate_dir:\n",
		func(c *config.Config) bool {
			return c.Server.Listen == config.DefaultListen && c.StateDir == config.DefaultStateDir && c.Log.Level == "info" && len(c.Processes) == 0
		}},
	{"cgroup default auto", hostOnly, func(c *config.Config) bool { return c.Cgroup == config.CgroupAuto }},
	{"cgroup off", hostOnly + "cgroup: off\n", func(c *config.Config) bool { return c.Cgroup == config.CgroupOff }},
	{"cgroup path cleaned", hostOnly + "cgroup: /sys/fs/cgroup/./agents/\n", func(c *config.Config) bool { return c.Cgroup == "/sys/fs/cgroup/agents" }},
	{"empty processes list", hostOnly + "processes: []\n", func(c *config.Config) bool { return len(c.Processes) == 0 }},
	{"listen empty disables", hostOnly + "server: {listen: \"\"}\n", func(c *config.Config) bool { return c.Server.Listen == "" }},
	{"listen port zero", hostOnly + "server: {listen: \"127.0.0.1:0\"}\n", func(c *config.Config) bool { return c.Server.Listen == "127.0.0.1:0" }},
	{"listen all interfaces", hostOnly + "server: {listen: \":62888\"}\n", func(c *config.Config) bool { return c.Server.Listen == ":62888" }},
	{"listen host name", hostOnly + "server: {listen: \"agent.example.com:80\"}\n", func(c *config.Config) bool { return true }},
	{"disabled on 127.0.0.2", hostOnly + "server: {listen: \"127.0.0.2:1\"}\nauth: {disabled: true}\n", func(c *config.Config) bool { return c.Auth.Disabled }},
	{"disabled on ::1", hostOnly + "server: {listen: \"[::1]:1\"}\nauth: {disabled: true}\n", func(c *config.Config) bool { return c.Auth.Disabled }},
	{"disabled on localhost", hostOnly + "server: {listen: \"LocalHost:1\"}\nauth: {disabled: true}\n", func(c *config.Config) bool { return c.Auth.Disabled }},
	{"disabled without listener", hostOnly + "server: {listen: \"\", socket: /run/a.sock}\nauth: {disabled: true}\n", func(c *config.Config) bool { return c.Auth.Disabled }},
	{"disabled on default listen", hostOnly + "auth: {disabled: true}\n", func(c *config.Config) bool { return c.Auth.Disabled }},
	{"empty server name is the host name", hostOnly + "server: {name: \"\"}\n", func(c *config.Config) bool { return c.Server.Name != "" }},
	{"log level upper case", hostOnly + "log: {level: WARN}\n", func(c *config.Config) bool { return c.Log.Level == "warn" }},
	{"numeric password is a string", user("a", "1234", "[HOST_MANAGER]"), func(c *config.Config) bool { return c.Auth.Users[0].Password == "1234" }},
	{"trailing empty document", hostOnly + "---\n", func(c *config.Config) bool { return c.Host.ID == 1 }},
	{"leading document marker", "---\n" + hostOnly, func(c *config.Config) bool { return c.Host.ID == 1 }},
	{"signal int", proc("stop_signal: int"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 2 }},
	{"signal SIGTERM", proc("stop_signal: SIGTERM"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 15 }},
	{"signal sigquit", proc("stop_signal: sigquit"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 3 }},
	{"signal Hup", proc("stop_signal: Hup"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 1 }},
	{"signal KILL", proc("stop_signal: KILL"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 9 }},
	{"signal USR1", proc("stop_signal: USR1"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 10 }},
	{"signal WINCH", proc("stop_signal: WINCH"), func(c *config.Config) bool { return c.Processes[0].StopSignal == 28 }},
	{"start_wait zero", proc("start_wait: 0s"), func(c *config.Config) bool { return c.Processes[0].StartWait == 0 }},
	{"stop_timeout 500ms", proc("stop_timeout: 500ms"), func(c *config.Config) bool { return c.Processes[0].StopTimeout == 5e8 }},
	{"booleans True", proc("operable: True", "autostart: false"), func(c *config.Config) bool { return c.Processes[0].Operable && !c.Processes[0].Autostart }},
	{"user root", proc("user: root"), func(c *config.Config) bool { return c.Processes[0].User == "root" }},
	{"user empty", proc(`user: ""`), func(c *config.Config) bool { return c.Processes[0].User == "" }},
	{"empty match is nil", proc(`match: ""`), func(c *config.Config) bool { return c.Processes[0].Match == nil }},
	{"id kept with its line", proc("operable: true", "id: 42"), func(c *config.Config) bool {
		return c.Processes[0].ID == 42 && c.Processes[0].IDLine == 7 && c.Processes[0].Line == 4
	}},
	{"alias with letters and digits", hostOnly + "processes:\n  - alias: 2x\n    start_command: x\n", func(c *config.Config) bool { return c.Processes[0].Alias == "2x" }},
	{"process options", proc("directory: /opt/ob/", "environment: {OCP_ENV: prod, PORT: 8089, E: \"\"}", "environment_file: /etc/ob.env",
		`umask: "027"`, "limits:", "  nofile: 655350", "  core: unlimited", "  stack: +8388608"), func(c *config.Config) bool {
		p := c.Processes[0]
		return p.Directory == "/opt/ob" && len(p.Environment) == 3 && p.Environment["PORT"] == "8089" && p.Environment["E"] == "" &&
			p.EnvironmentFile == "/etc/ob.env" && p.Umask != nil && *p.Umask == 0o27 && len(p.Limits) == 3 &&
			p.Limits[0] == config.Limit{Name: "nofile", Value: 655350} && p.Limits[1] == config.Limit{Name: "core", Value: config.Unlimited} &&
			p.Limits[2].Value == 8<<20 && p.Lines["limits.core"] == 12 && p.Lines["directory"] == 6 && p.Lines["umask"] == 9
	}},
	{"umask unquoted 022", proc("umask: 022"), func(c *config.Config) bool { return *c.Processes[0].Umask == 0o22 }},
	{"umask 0", proc("umask: 0"), func(c *config.Config) bool { return *c.Processes[0].Umask == 0 }},
	{"no options", proc(), func(c *config.Config) bool {
		p := c.Processes[0]
		return p.Directory == "" && p.Environment == nil && p.Umask == nil && p.Limits == nil
	}},
	{"anchor without alias", "host: &h\n  id: 1\n", func(c *config.Config) bool { return c.Host.ID == 1 }},
}

func TestParseAccepts(t *testing.T) {
	for _, tt := range acceptCases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}
