package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// ServerConfig is what the HTTP handler needs from the configuration, so that
// the handler can be built and tested without a config file.
type ServerConfig struct {
	HostID     int64  // the hostId this agent answers for
	ServerName string // the envelope's `server`; "" means the host name
	Users      []User
	// AuthDisabled serves protected routes without credentials, as
	// HOST_MANAGER. The config allows it on a loopback listener only.
	AuthDisabled bool
	// Registry is served on /metrics; the handler registers its HTTP metrics
	// on it. Nil means a registry of the handler's own.
	Registry *prometheus.Registry
	Logger   *zap.Logger // nil means no logging

	// AgentUID is the uid the agent runs as: over the unix socket its
	// peers are HOST_MANAGER, like root's, and everyone else is refused.
	AgentUID uint32
	// SocketGroup, when not "", names the group (gid SocketGID) whose
	// members may read (HOST_VIEWER) over the unix socket.
	SocketGroup string
	SocketGID   uint32
	// MaxBodyBytes bounds a request's body (413 beyond); 0 means 16 KiB.
	MaxBodyBytes int64
	// MaxInflight bounds the stops, starts and restarts in progress (503
	// beyond); 0 means 64.
	MaxInflight int
	// Containment is /healthz's "cgroup": how processes are contained
	// ("cgroup v2 at ..." or "off: ..."); "" leaves the field out.
	Containment string
}

// User is one set of HTTP Basic credentials the API accepts. Password is a
// bcrypt hash ($2a$, $2b$ or $2y$) or, for callers that must sign requests
// with it, the plain password.
type User struct {
	Name        string
	Password    string
	Permissions []string // api.PermHostViewer, api.PermHostManager
}

// server is the HTTP API of one agent.
type server struct {
	cfg      ServerConfig
	svc      processService
	auth     *authenticator
	metrics  *httpMetrics
	log      *zap.Logger
	auditLog *zap.Logger
	router   *mux.Router
	inflight inflight
}

// route is one API route of SPEC.md's table; serve runs after the checks
// common to all routes, with the path parameters validated.
type route struct {
	method string
	path   string
	perm   string
	serve  func(s *server, ctx context.Context, p pathParams) (any, error)
}

const processesPath = "/compute/hosts/{hostId}/agent/processes"

var routes = []route{
	{http.MethodGet, processesPath, api.PermHostViewer, (*server).list},
	{http.MethodGet, processesPath + "/{agentProcessId}", api.PermHostViewer, (*server).get},
	{http.MethodPost, processesPath + "/{agentProcessId}/stop", api.PermHostManager, (*server).stop},
	{http.MethodPost, processesPath + "/{agentProcessId}/start", api.PermHostManager, (*server).start},
	{http.MethodPost, processesPath + "/{agentProcessId}/restart", api.PermHostManager, (*server).restart},
}

// newHandler returns the agent's HTTP API: the routes of SPEC.md, with and
// without api.Prefix, plus /healthz and /metrics. It fails on configuration
// it cannot serve with (bad users, metrics already registered).
func newHandler(cfg ServerConfig, svc processService) (http.Handler, error) {
	if svc == nil {
		return nil, errors.New("new http handler: no process service")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ServerName == "" {
		cfg.ServerName, _ = os.Hostname() // "" if even that fails: the field is informative only
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = defaultMaxInflight
	}
	auth, err := newAuthenticator(cfg.Users, cfg.AuthDisabled)
	if err != nil {
		return nil, fmt.Errorf("new http handler: %w", err)
	}
	auth.socket = socketPolicy{agentUID: cfg.AgentUID, group: cfg.SocketGID, hasGroup: cfg.SocketGroup != "", groupName: cfg.SocketGroup}
	auth.throttle.log = cfg.Logger.Named("auth")
	metrics, err := newHTTPMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("new http handler: %w", err)
	}
	s := &server{cfg: cfg, svc: svc, auth: auth, metrics: metrics, log: cfg.Logger.Named("http"),
		auditLog: cfg.Logger.Named("audit"), inflight: make(inflight, cfg.MaxInflight)}
	s.router = s.newRouter()
	return s, nil
}

func (s *server) newRouter() *mux.Router {
	r := mux.NewRouter()
	// Without SkipClean mux answers "//x" or "/a/../x" with a bare 301; with
	// it they are unknown routes, answered with an envelope like all others.
	r.SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	for _, prefix := range []string{"", api.Prefix} {
		for _, rt := range routes {
			r.Handle(prefix+rt.path, s.apiRoute(prefix+rt.path, rt)).Methods(rt.method)
		}
		r.Handle(prefix+"/healthz", s.plainRoute(prefix+"/healthz", healthz(s.cfg.Containment))).Methods(http.MethodGet)
		metrics := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(s.log)})
		r.Handle(prefix+"/metrics", s.plainRoute(prefix+"/metrics", metrics)).Methods(http.MethodGet)
	}
	s.addReloadRoute(r)
	s.addOpenAPIRoute(r)
	return r
}

// apiRoute runs the checks of SPEC.md in their order (credentials,
// permission, path parameters, host) before rt.serve, and wraps what it
// returns in the envelope. A mutating route is audited whatever its
// outcome, and, once every check has passed, takes one of the in-flight
// slots or is refused with 503.
func (s *server) apiRoute(template string, rt route) http.Handler {
	mutating := rt.perm == api.PermHostManager
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := requestInfoFrom(r.Context())
		info.route = template
		vars := mux.Vars(r)
		if mutating {
			info.op = &operation{action: path.Base(rt.path), hostID: vars[paramHostID], processID: vars[paramProcessID]}
		}
		who, err := s.auth.authenticate(r)
		info.user = who.name
		if info.op != nil {
			info.op.who = who
		}
		if err != nil {
			s.writeError(w, r, errUnauthorized(err))
			return
		}
		if !who.perms.allows(rt.perm) {
			s.writeError(w, r, errForbidden(who, rt.perm))
			return
		}
		p, perr := parsePathParams(vars)
		if perr != nil {
			s.writeError(w, r, perr)
			return
		}
		if p.HostID != s.cfg.HostID {
			s.writeError(w, r, errNoHost(p.HostID, s.cfg.HostID))
			return
		}
		if mutating {
			release, ok := s.inflight.acquire()
			if !ok {
				s.writeError(w, r, errOverloaded(cap(s.inflight)))
				return
			}
			defer release()
		}
		data, err := rt.serve(s, r.Context(), p)
		if proc, ok := data.(api.HostAgentProcess); ok && info.op != nil {
			info.op.alias = proc.Alias
		}
		if err != nil {
			s.writeError(w, r, serviceError(err, p.ProcessID))
			return
		}
		s.writeData(w, r, data)
	})
}

// plainRoute serves a route without envelope or credentials, recording its
// template for the log and the metrics.
func (s *server) plainRoute(template string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestInfoFrom(r.Context()).route = template
		h.ServeHTTP(w, r)
	})
}

func (s *server) list(ctx context.Context, _ pathParams) (any, error) {
	procs, err := s.svc.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list agent processes: %w", err)
	}
	byID := func(a, b api.HostAgentProcess) int { return cmp.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(procs, byID) {
		// Sorted here; the service's slice stays its own. (Agent.List's
		// is sorted already, and read-only.)
		procs = slices.Clone(procs)
		slices.SortStableFunc(procs, byID)
	}
	if procs == nil {
		procs = []api.HostAgentProcess{} // "contents": [], not null
	}
	n := len(procs)
	return api.ProcessList{Contents: procs, Page: api.Page{TotalElements: n, TotalPages: 1, Number: 1, Size: n}}, nil
}

func (s *server) get(ctx context.Context, p pathParams) (any, error) {
	return s.svc.Get(ctx, p.ProcessID)
}

func (s *server) stop(ctx context.Context, p pathParams) (any, error) {
	return s.svc.Stop(ctx, p.ProcessID)
}

func (s *server) start(ctx context.Context, p pathParams) (any, error) {
	return s.svc.Start(ctx, p.ProcessID)
}

func (s *server) restart(ctx context.Context, p pathParams) (any, error) {
	return s.svc.Restart(ctx, p.ProcessID)
}

// healthz answers liveness probes; it needs nothing but a running server.
// It says how processes are contained, so that a probe can tell an agent
// that fell back to process groups.
func healthz(containment string) http.Handler {
	body := []byte(`{"status":"ok"}`)
	if containment != "" {
		c, _ := json.Marshal(containment)
		body = []byte(`{"status":"ok","cgroup":` + string(c) + `}`)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, errNoRoute(r))
}

// methodNotAllowed answers a known path with another method, with the Allow
// header HTTP asks for, naming the route it matched in the log and metrics.
func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	template, allow := s.pathMatch(r)
	requestInfoFrom(r.Context()).route = template
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	s.writeError(w, r, errMethodNotAllowed(r))
}

// pathMatch finds the routes whose path r matches, trying each with its own
// method, because mux does not report them for a 405: the first one's
// template, and the methods they all allow.
func (s *server) pathMatch(r *http.Request) (template string, allow []string) {
	template = routeUnknown
	_ = s.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := rt.GetMethods()
		if err != nil || len(methods) == 0 {
			return nil
		}
		probe := r.Clone(r.Context())
		probe.Method = methods[0]
		if rt.Match(probe, &mux.RouteMatch{}) {
			if len(allow) == 0 {
				template, _ = rt.GetPathTemplate()
			}
			allow = append(allow, methods...)
		}
		return nil
	})
	return template, allow
}
