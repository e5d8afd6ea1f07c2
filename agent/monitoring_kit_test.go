package agent

// The tests of the monitoring kit shipped with the packages
// (packaging/monitoring: Prometheus alerting rules and a Grafana
// dashboard): against a real agent's /metrics, and with promtool. They live
// here to run the agent as the other tests of this package do.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/ocp-agent/ocp-agent/agent/api"
	"github.com/ocp-agent/ocp-agent/agent/client"
	"github.com/ocp-agent/ocp-agent/config"
)

const (
	kitRulesFile     = "../packaging/monitoring/ocp-agent.rules.yml"
	kitDashboardFile = "../packaging/monitoring/ocp-agent.dashboard.json"
)

// pending are series the kit uses that an agent does not export yet, each
// with the reason; the test reports them rather than failing, so that the
// kit can be ready before the agent. Remove an entry once the agent has it.
var kitPending = map[string]string{
	"ocp_agent_process_cpu_seconds_total": "cgroup CPU time per process: exported only with cgroups, which this test's agent runs without",
	"ocp_agent_process_memory_bytes":      "cgroup memory per process: exported only where the memory controller is delegated",
}

// synthetic are series Prometheus makes itself for each scrape target.
var kitSynthetic = map[string]bool{"up": true}

// kitSeriesRE finds the series names in a PromQL expression. It is enough
// because the kit only uses names in the agent's namespaces (ocp_agent_,
// and client_golang's process_ and go_) and Prometheus's up: none of them
// is a PromQL keyword, function or label name of the kit's queries, and the
// \b boundaries keep "process_" from matching inside
// "ocp_agent_process_up". A full PromQL parser would pull in the whole
// Prometheus server module for this one check; promtool, which has it,
// checks the syntax of every expression in TestMonitoringKitPromtool.
var kitSeriesRE = regexp.MustCompile(`\b(?:(?:ocp_agent|process|go)_[a-zA-Z0-9_:]+|up)\b`)

// kitExpressions returns every PromQL expression of the kit, named by
// where it is.
func kitExpressions(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	b, err := os.ReadFile(kitRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", kitRulesFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs[fmt.Sprintf("%s: alert %s", kitRulesFile, r.Alert+r.Record)] = r.Expr
		}
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ RefID, Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Type  string
				Query any
			}
		}
	}
	b, err = os.ReadFile(kitDashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", kitDashboardFile, err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", kitDashboardFile, p.Title)
		}
		for _, tg := range p.Targets {
			exprs[fmt.Sprintf("%s: panel %q query %s", kitDashboardFile, p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok && v.Type == "query" {
			exprs[fmt.Sprintf("%s: variable %s", kitDashboardFile, v.Name)] = fmt.Sprint(q["query"])
		}
	}
	if len(exprs) == 0 {
		t.Fatal("no expressions found in the kit")
	}
	return exprs
}

// kitExportedSeries runs a real agent with a real process, stops it (so that
// the stop and exit series exist), scrapes its /metrics over HTTP and
// returns the names of every series there.
func kitExportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.yaml")
	// A health check, so that the health series exist (a start waits for
	// the first check).
	yml := fmt.Sprintf(`host: {id: 20}
server: {listen: "127.0.0.1:0"}
auth:
  users: [{name: ocp, password: secret, permissions: [HOST_MANAGER]}]
cgroup: off
state_dir: %s
processes:
  - {alias: p, id: 185, start_command: sleep 1000, start_wait: 100ms, stop_timeout: 5s, autorestart: false,
     health: {tcp: %d}}
`, filepath.Join(dir, "state"), healthTarget(t))
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	_, tcp := serveAgent(t, cfg)
	addr := "http://" + tcp
	c := client.New(addr, client.WithBasicAuth("ocp", "secret"))
	opCtx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.Start(opCtx, 20, 185); err != nil {
		t.Fatalf("start: %v", err)
	}
	if p, err := c.Stop(opCtx, 20, 185); err != nil || p.Status != api.StatusStopped {
		t.Fatalf("stop: %+v, %v", p, err)
	}
	if _, err := c.Start(opCtx, 20, 185); err != nil {
		t.Fatalf("start again: %v", err)
	}

	resp, err := http.Get(addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	names := map[string]bool{}
	for name, f := range families {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// TestMonitoringKitUsesExportedSeries checks that every series a rule or a panel
// uses is one a real agent exports (or a pending one, reported).
func TestMonitoringKitUsesExportedSeries(t *testing.T) {
	exported := kitExportedSeries(t)
	used := map[string][]string{} // pending series -> where
	for where, expr := range kitExpressions(t) {
		names := kitSeriesRE.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no series found in %q", where, expr)
		}
		for _, n := range names {
			switch {
			case exported[n] || kitSynthetic[n]:
			case kitPending[n] != "":
				used[n] = append(used[n], where)
			default:
				t.Errorf("%s: series %s is not exported by the agent", where, n)
			}
		}
	}
	for n, reason := range kitPending {
		if exported[n] {
			t.Logf("pending series %s is exported now: remove it from pending", n)
			continue
		}
		slices.Sort(used[n])
		t.Logf("not yet exported: %s (%s), used by:\n\t%s", n, reason, strings.Join(used[n], "\n\t"))
	}
}

// TestMonitoringKitPromtool runs `promtool check rules` on the rules, and on
// the dashboard's queries turned into recording rules (Grafana's variables
// replaced by values), so that PromQL syntax is checked by Prometheus's own
// parser.
func TestMonitoringKitPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (Debian package prometheus)")
	}
	if out, err := exec.Command(promtool, "check", "rules", kitRulesFile).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", kitRulesFile, err, out)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*", "${datasource}", "prometheus")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	exprs := kitExpressions(t)
	wheres := slices.Sorted(func(yield func(string) bool) {
		for w := range exprs {
			if strings.HasPrefix(w, kitDashboardFile) && !yield(w) {
				return
			}
		}
	})
	for _, w := range wheres {
		expr := vars.Replace(exprs[w])
		if strings.HasPrefix(expr, "label_values(") {
			// Grafana's function: check its series selector.
			expr = strings.TrimSuffix(strings.TrimPrefix(expr, "label_values("), ", instance)")
		}
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", len(rules)), Expr: expr})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules on the dashboard's queries: %v\n%s\n%s", err, out, b)
	}
}

// healthTarget listens on a port of its own until the test ends, accepting
// and closing connections: a target that a tcp health check finds healthy.
func healthTarget(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
