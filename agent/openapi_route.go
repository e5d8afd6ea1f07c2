package agent

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ocp-agent/ocp-agent/agent/openapi"
)

// OpenAPIPath serves the OpenAPI 3 document of the API, without envelope or
// credentials: it says nothing about this host that the routes themselves
// do not, and tools fetch it before they have credentials.
const OpenAPIPath = "/api/openapi.json"

func (s *server) addOpenAPIRoute(r *mux.Router) {
	r.Handle(OpenAPIPath, s.plainRoute(OpenAPIPath, http.HandlerFunc(s.openAPI))).Methods(http.MethodGet)
}

func (s *server) openAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := openapi.JSON()
	if err != nil {
		s.writeError(w, r, errUnexpected(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}
