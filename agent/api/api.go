// Package api holds the wire types of the OCP agent-process API, shared by the
// agent's HTTP server and the Go client so that both speak exactly one format.
package api

import "encoding/json"

// Status values of HostAgentProcess.Status and DesiredStatus.
const (
	StatusStarted = "STARTED"
	StatusStopped = "STOPPED"
)

// TimeLayout is the layout of every time field in HostAgentProcess.
const TimeLayout = "2006-01-02T15:04:05-07:00"

// TimestampLayout is the layout of Envelope.Timestamp (milliseconds and zone).
const TimestampLayout = "2006-01-02T15:04:05.000-07:00"

// HostAgentProcess is one managed process as the OCP server sees it. The first
// fourteen fields are exactly the seed's; the rest are extras that the spec
// allows and that do not change their meaning. Pointer fields are JSON null
// when the value does not apply (for example user of a stopped process).
type HostAgentProcess struct {
	ID             int64   `json:"id"`
	HostID         int64   `json:"hostId"`
	Alias          string  `json:"alias"`
	PID            int     `json:"pid"`
	User           *string `json:"user"`
	StartCommand   *string `json:"startCommand"`
	Ports          *string `json:"ports"`
	ElapsedTime    int64   `json:"elapsedTime"`
	LastActiveTime *string `json:"lastActiveTime"`
	Status         string  `json:"status"`
	Operable       bool    `json:"operable"`
	LogFilePattern *string `json:"logFilePattern"`
	CreateTime     string  `json:"createTime"`
	UpdateTime     string  `json:"updateTime"`

	// Extras.
	DesiredStatus string `json:"desiredStatus,omitempty"`
	RestartCount  int    `json:"restartCount"`
	LastExitCode  *int   `json:"lastExitCode"`
	// LastError is why the last start or run ended, one line, or null;
	// NextStartTime (TimeLayout) is when a scheduled restart is due, or null.
	LastError     *string `json:"lastError"`
	NextStartTime *string `json:"nextStartTime"`
	// Health is HEALTHY, UNHEALTHY or UNKNOWN; null when the process has
	// no health check. LastHealthError is the last failed check's error.
	Health          *string `json:"health"`
	LastHealthError *string `json:"lastHealthError"`
	// ProcessCount counts the processes of its cgroup (without cgroups,
	// of its tree and group); 0 when stopped. CPUSeconds is the CPU time
	// its cgroup (or tree) has used; 0 when stopped. MemoryBytes is its
	// cgroup's memory.current, null without cgroups, without the memory
	// controller, or when stopped.
	ProcessCount int     `json:"processCount"`
	CPUSeconds   float64 `json:"cpuSeconds"`
	MemoryBytes  *uint64 `json:"memoryBytes"`
}

// Page describes the single page a list response carries.
type Page struct {
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"` // 1-based
	Size          int `json:"size"`
}

// ProcessList is the data of the list route.
type ProcessList struct {
	Contents []HostAgentProcess `json:"contents"`
	Page     Page               `json:"page"`
}

// Error is the envelope's error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// Envelope is the JSON object every API response but /healthz and /metrics is
// wrapped in.
type Envelope struct {
	Data       json.RawMessage `json:"data,omitempty"`
	Successful bool            `json:"successful"`
	Timestamp  string          `json:"timestamp"`
	Duration   int64           `json:"duration"`
	Status     int             `json:"status"`
	TraceID    string          `json:"traceId"`
	Server     string          `json:"server"`
	Error      *Error          `json:"error,omitempty"`
}

// Error codes of the API, with the HTTP status each is sent with.
const (
	CodeBadParameter     = 10001 // 400: a path parameter is not a positive 64-bit integer
	CodeNoRoute          = 10002 // 404
	CodeMethodNotAllowed = 10003 // 405
	CodeUnexpected       = 10010 // 500
	CodeUnauthorized     = 30001 // 401
	CodeForbidden        = 30014 // 403
	CodeNoHost           = 40010 // 404: hostId is not this agent's
	CodeNoProcess        = 40011 // 404
	CodeNotOperable      = 40012 // 403
	CodeSurvivedKill     = 40013 // 500: the process survived SIGKILL
	CodeStartFailed      = 40014 // 500: the process exited during start-up or could not be executed
	CodeSuperseded       = 40015 // 409: a later request (a stop) superseded the start or restart
)

// Permissions a credential can hold. HOST_MANAGER implies HOST_VIEWER.
const (
	PermHostViewer  = "HOST_VIEWER"
	PermHostManager = "HOST_MANAGER"
)

// TraceHeader carries the request's trace id in both directions.
const TraceHeader = "X-OCP-Trace-ID"

// Prefix is the optional prefix every route is also served under.
const Prefix = "/api/v2"
