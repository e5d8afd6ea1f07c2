package agent

import (
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

func TestMetrics(t *testing.T) {
	ts := newTestServer(t)
	ts.do(t, "GET", procs, viewerCred)
	ts.do(t, "GET", api.Prefix+procs, viewerCred)
	ts.do(t, "GET", "/nope/"+strings.Repeat("x", 10), noCred)
	ts.do(t, "GET", procs+"/185/stop", noCred)
	ts.do(t, "BREW", procs, noCred)
	ts.do(t, "POST", procs+"/185/stop", viewerCred)

	for _, path := range []string{"/metrics", api.Prefix + "/metrics"} {
		r := ts.do(t, "GET", path, noCred)
		if r.status != 200 {
			t.Fatalf("%s: status %d", path, r.status)
		}
		body := string(r.body)
		for _, want := range []string{
			`ocp_agent_http_requests_total{code="200",method="GET",route="/compute/hosts/{hostId}/agent/processes"} 1`,
			`ocp_agent_http_requests_total{code="200",method="GET",route="/api/v2/compute/hosts/{hostId}/agent/processes"} 1`,
			`ocp_agent_http_requests_total{code="404",method="GET",route="unknown"} 1`,
			`ocp_agent_http_requests_total{code="405",method="GET",route="/compute/hosts/{hostId}/agent/processes/{agentProcessId}/stop"} 1`,
			`ocp_agent_http_requests_total{code="405",method="other",route="/compute/hosts/{hostId}/agent/processes"} 1`,
			`ocp_agent_http_requests_total{code="403",method="POST",route="/compute/hosts/{hostId}/agent/processes/{agentProcessId}/stop"} 1`,
			`ocp_agent_http_request_duration_seconds_bucket{route="/compute/hosts/{hostId}/agent/processes",le="0.005"}`,
			`ocp_agent_http_request_duration_seconds_count{route="unknown"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
		if r.header.Get(api.TraceHeader) == "" {
			t.Errorf("%s: no trace header", path)
		}
	}
}
