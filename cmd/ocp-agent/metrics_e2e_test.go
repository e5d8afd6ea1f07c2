package main

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMetricsScrape scrapes a real agent after a crash, an automatic
// restart and a stop, and checks the series each of them must leave.
func TestMetricsScrape(t *testing.T) {
	port := freePort(t)
	e := newEnv(t, demo("obstat2", 185, port, ""))
	a := e.start()
	p := a.waitStarted(185)

	// A crash: the agent restarts it after its back-off.
	syscall.Kill(p.PID, syscall.SIGKILL)
	deadline := time.Now().Add(20 * time.Second)
	for {
		q, err := a.c.Get(ctxT(t), 20, 185)
		if err == nil && q.RestartCount == 1 && q.PID > 0 && q.PID != p.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %+v %v\n%s", q, err, a.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.waitStarted(185)
	if _, err := a.c.Stop(ctxT(t), 20, 185); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		`ocp_agent_process_up{alias="obstat2",id="185"} 0`,
		`ocp_agent_process_restarts_total{alias="obstat2",id="185"} 1`,
		`ocp_agent_process_last_exit_code{alias="obstat2",id="185"} `,
		`ocp_agent_process_stop_duration_seconds_count{alias="obstat2",result="stopped"} 1`,
		`ocp_agent_process_stop_duration_seconds_bucket{alias="obstat2",result="stopped",le="10"} 1`,
		`ocp_agent_http_requests_total{code="200",method="POST",route="/api/v2/compute/hosts/{hostId}/agent/processes/{agentProcessId}/stop"} 1`,
		`ocp_agent_http_request_duration_seconds_count{route="/api/v2/compute/hosts/{hostId}/agent/processes/{agentProcessId}"}`,
		"go_goroutines ",
		"go_memstats_heap_alloc_bytes ",
		"process_open_fds ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(text, "ocp_agent_process"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
