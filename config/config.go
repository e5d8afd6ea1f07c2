// Package config loads and validates the agent's YAML configuration.
//
// Validation is strict so that a mistake fails at load, not at the first
// stop: unknown or duplicate keys, numbers without a unit where a duration
// is due, yes/no for booleans are all refused, each as an *Error naming the
// file, the line and the key. A key written without a value (`key:` or
// `key: ~`) is the same as a key left out.
package config

import (
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"

	"fmt"
	"os"
	"regexp"
	"syscall"
	"time"
)

// DefaultPath is where the agent and its CLI look for the config when no
// --config is given; the packages install the file there.
const DefaultPath = "/etc/ocp-agent/config.yaml"

// DefaultListen is the TCP address of the HTTP API when server.listen is
// absent. It is loopback so that a fresh install exposes nothing.
const DefaultListen = "127.0.0.1:62888"

// DefaultStateDir is where the agent keeps its state when state_dir is absent.
const DefaultStateDir = "/var/lib/ocp-agent"

// Values of the cgroup key; anything else is a path.
const (
	CgroupAuto    = "auto"
	CgroupOff     = "off"
	DefaultCgroup = CgroupAuto
)

// DefaultStopSignal is a process's stop_signal when it has none.
const DefaultStopSignal = syscall.SIGTERM

// DefaultStopTimeout is a process's stop_timeout when it has none.
const DefaultStopTimeout = 10 * time.Second

// DefaultStartWait is a process's start_wait when it has none.
const DefaultStartWait = time.Second

// DefaultLogLevel is log.level when it is absent.
const DefaultLogLevel = "info"

// DefaultLogMaxSizeMB is log.max_size, in MiB, when it is absent: with
// DefaultLogMaxBackups the log takes at most about 600 MiB.
const DefaultLogMaxSizeMB = 100

// DefaultLogMaxBackups is log.max_backups when it is absent.
const DefaultLogMaxBackups = 5

// Log formats of log.format.
const (
	LogFormatConsole = "console"
	LogFormatJSON    = "json"
)

// Config is a loaded and validated configuration with every default filled
// in, so that its users never have to tell "absent" from "zero" again.
type Config struct {
	// File is the path the config was loaded from, used to name it in
	// messages about problems found later.
	File   string
	Host   Host
	Server Server
	Auth   Auth
	// StateDir is the absolute, cleaned directory of the agent's state.
	StateDir string
	// Cgroup is the containment setting: CgroupAuto, CgroupOff, or the
	// absolute, cleaned path of the cgroup under which every process gets
	// its own (see procmgr/cgroup.Open).
	Cgroup    string
	Log       Log
	Processes []Process
	// Warnings are accepted but doubtful settings (a plain-text password,
	// auth disabled, ...) that the agent should log at start. Each names
	// the file, the line and the key.
	Warnings []string
}

// Host identifies the host this agent answers for.
type Host struct {
	// ID is the OCP hostId; always > 0.
	ID int64
}

// Server configures the agent's APIs.
type Server struct {
	// Listen is the TCP host:port of the HTTP API; "" disables it.
	Listen string
	// Socket is the absolute path of the local admin unix socket; ""
	// disables it.
	Socket string
	// Name is reported as the envelope's `server`; the host name by default.
	Name string
	// SocketGroup is the group (name or number, as written) that owns the
	// socket, mode 0660, so that its members can read over it; "" for an
	// owner-only socket (0600).
	SocketGroup string
	// SocketGID is SocketGroup's gid, resolved at load; 0 when unset.
	SocketGID uint32
	// TLS serves the TCP listener over HTTPS; nil for plain HTTP.
	TLS *TLS
}

// Auth holds the credentials accepted on the TCP listener.
type Auth struct {
	Users []User
	// Disabled lets any request through on a loopback listener; it is
	// refused for any other listener.
	Disabled bool
}

// User is one HTTP credential and what it may do.
type User struct {
	Name string
	// Password is a bcrypt hash ($2a$/$2b$/$2y$) or, with a warning, the
	// plain value (which OCP-HMACSHA256 signing needs). With PasswordFile
	// it is that file's content, read at load.
	Password string
	// PasswordFile is the absolute path the password was read from; "" when
	// it is written in the config.
	PasswordFile string
	// Permissions holds HOST_VIEWER and/or HOST_MANAGER; never empty.
	Permissions []string
	// Line is where the user's list item starts.
	Line int
}

// Log configures the agent's own logging.
type Log struct {
	// Level is one of debug, info, warn, error (lower case).
	Level string
	// File is where the agent logs; "" means stderr.
	File string
	// Format is LogFormatConsole or LogFormatJSON; when not configured,
	// console on stderr (journald stamps the lines) and JSON in a file.
	Format string
	// MaxSizeMB is the size in MiB at which File is rotated; always > 0.
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept beside File; always
	// > 0, so that the log never grows without bound.
	MaxBackups int
}

// Process is one configured process the agent keeps.
type Process struct {
	// Alias names the process in the API and the CLI and names its files
	// under the state directory, hence its restricted alphabet.
	Alias string
	// ID is the explicit agent process id; 0 when not set, in which case
	// the agent assigns one once and keeps it.
	ID           int64
	StartCommand string
	// User is the account to run the command as; "" for the agent's own.
	// It existed on this host when the config was loaded.
	User string
	// PidFile is an absolute path or "".
	PidFile string
	// Match finds a running instance the agent did not start, by its
	// command line; nil when not set.
	Match *regexp.Regexp
	// LogFilePattern is a glob of the process's logs; "" = not configured.
	LogFilePattern string
	Operable       bool
	Autostart      bool
	Autorestart    bool
	// StopSignal is sent first on a stop; never SIGSTOP, which suspends
	// rather than ends a process.
	StopSignal syscall.Signal
	// StopTimeout is the grace before SIGKILL; always > 0.
	StopTimeout time.Duration
	// StartWait is how long a new process must stay up to count as
	// started; always >= 0.
	StartWait time.Duration
	// Directory is the absolute, cleaned working directory; "" for the
	// user's home when it exists, else /. It is checked at each start.
	Directory string
	// Environment is added to the base environment (PATH, HOME, USER,
	// LOGNAME, SHELL), over EnvironmentFile's; keys are POSIX names.
	Environment map[string]string
	// EnvironmentFile is an absolute path of KEY=value lines, read at each
	// start; "" when not set.
	EnvironmentFile string
	// Umask is the process's file mode creation mask (at most 0777); nil
	// inherits the agent's.
	Umask *uint32
	// Limits are the resource limits set before exec, in LimitNames order.
	Limits []Limit
	// CgroupLimits are memory_max, cpu_max and pids_max, parsed (see
	// cgrouplimits.go); zero fields are no limit.
	CgroupLimits cgroup.Limits
	// Lines holds the line of every key of the process present in the
	// file, and of each limit as "limits.nofile", so that problems found
	// after loading (by config check, at start) can point at them.
	Lines map[string]int
	// Health is its health check; nil when none is configured.
	Health *Health
	// Line is where the process's list item starts.
	Line int
	// IDLine is the line of the `id` key (Line when absent), so that the
	// agent can point at it when the id conflicts with its state.
	IDLine int
}

// Load reads and parses the config file at path. A read failure is returned
// wrapped with the path; every problem with the content is a *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses and validates data as the content of file, which is used only
// to name the file in messages and as Config.File. Every problem it reports
// is a *Error; when there are several, the one earliest in the document is
// returned.
func Parse(file string, data []byte) (*Config, error) {
	root, err := decodeDocument(file, data)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file}
	c := p.config(root)
	if e := p.first(); e != nil {
		return nil, e
	}
	c.File = file
	c.Warnings = p.warnings
	return c, nil
}
