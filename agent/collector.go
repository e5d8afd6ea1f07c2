package agent

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// processCollector reports the managed processes' state at scrape time,
// from the snapshots, so that nothing is counted twice or goes stale.
type processCollector struct {
	a        *Agent
	up       *prometheus.Desc
	restarts *prometheus.Desc
	exitCode *prometheus.Desc
}

func newProcessCollector(a *Agent) *processCollector {
	labels := []string{"alias", "id"}
	return &processCollector{
		a:        a,
		up:       prometheus.NewDesc("ocp_agent_process_up", "1 when the managed process runs.", labels, nil),
		restarts: prometheus.NewDesc("ocp_agent_process_restarts_total", "Automatic restarts of the managed process.", labels, nil),
		exitCode: prometheus.NewDesc("ocp_agent_process_last_exit_code", "Last exit status (128+signal for a signal); absent when unknown.", labels, nil),
	}
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.restarts
	ch <- c.exitCode
}

func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.a.mgr.Snapshots() {
		id := strconv.FormatInt(s.ID, 10)
		up := 0.0
		if s.Running {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, s.Alias, id)
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(s.RestartCount), s.Alias, id)
		if s.LastExitCode != nil {
			ch <- prometheus.MustNewConstMetric(c.exitCode, prometheus.GaugeValue, float64(*s.LastExitCode), s.Alias, id)
		}
	}
}
