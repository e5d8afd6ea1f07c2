package agent

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// ReloadPath is the local admin route that reloads the config, as SIGHUP
// does, and answers once the reload is applied or refused: what
// `ocp-agent reload`, the unit's ExecReload, calls. It is not part of the
// OCP API: it is served on the unix socket only, to HOST_MANAGER peers
// (root and the agent's own uid), and is no route at all over TCP.
const ReloadPath = "/agent/reload"

// reloader is the part of the agent the reload route needs.
type reloader interface {
	ReloadFile() (ReloadResult, error)
}

// addReloadRoute registers ReloadPath on r when the process service can
// reload (the Agent can; test services need not).
func (s *server) addReloadRoute(r *mux.Router) {
	rl, ok := s.svc.(reloader)
	if !ok {
		return
	}
	r.Handle(ReloadPath, s.reloadRoute(rl)).Methods(http.MethodPost)
}

// reloadRoute answers with the ReloadResult in the envelope; a refused
// config is 400 (10001, target "config") with the reason, which names the
// file and line; a reload that failed once under way is 500.
func (s *server) reloadRoute(rl reloader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := requestInfoFrom(r.Context())
		if _, local := peerFrom(r.Context()); !local {
			// Over TCP the route does not exist, so that the OCP
			// server's view of the API is exactly SPEC.md's.
			s.notFound(w, r)
			return
		}
		info.route = ReloadPath
		info.op = &operation{action: "reload"}
		who, err := s.auth.authenticate(r)
		info.user = who.name
		info.op.who = who
		if err != nil {
			s.writeError(w, r, errUnauthorized(err))
			return
		}
		if !who.perms.allows(api.PermHostManager) {
			s.writeError(w, r, errForbidden(who, api.PermHostManager))
			return
		}
		// Not bound to the request: a reload the caller gives up on
		// still finishes, and the next one waits for it.
		res, err := rl.ReloadFile()
		switch {
		case errors.Is(err, ErrReloadRefused):
			s.writeError(w, r, newAPIError(api.CodeBadParameter, "config", err, "%v", err))
		case err != nil:
			s.writeError(w, r, errUnexpected(err))
		default:
			s.writeData(w, r, res)
		}
	})
}
