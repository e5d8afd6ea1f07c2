package agent

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ocp-agent/ocp-agent/procmgr"
	"github.com/ocp-agent/ocp-agent/procmgr/state"
)

// processCollector reports the managed processes' state at scrape time,
// from the snapshots, so that nothing is counted twice or goes stale. With
// cgroups, it adds each running process's usage, read from its cgroup's
// files (a few small reads a process, no pass over /proc); without them
// those series are absent, as a scrape must not scan every process on the
// host.
type processCollector struct {
	a         *Agent
	up        *prometheus.Desc
	desired   *prometheus.Desc
	restarts  *prometheus.Desc
	exitCode  *prometheus.Desc
	healthy   *prometheus.Desc
	failures  *prometheus.Desc
	cpu       *prometheus.Desc
	memory    *prometheus.Desc
	processes *prometheus.Desc
}

func newProcessCollector(a *Agent) *processCollector {
	labels := []string{"alias", "id"}
	return &processCollector{
		a:  a,
		up: prometheus.NewDesc("ocp_agent_process_up", "1 when the managed process runs.", labels, nil),
		desired: prometheus.NewDesc("ocp_agent_process_desired_up",
			"1 when the managed process should run (desired state STARTED): with ocp_agent_process_up, a process that is down against its wish.", labels, nil),
		restarts: prometheus.NewDesc("ocp_agent_process_restarts_total", "Automatic restarts of the managed process.", labels, nil),
		exitCode: prometheus.NewDesc("ocp_agent_process_last_exit_code", "Last exit status (128+signal for a signal); absent when unknown.", labels, nil),
		healthy: prometheus.NewDesc("ocp_agent_process_healthy",
			"1 when the managed process's health check passes, 0 when it is unhealthy; absent when unknown or not configured.", labels, nil),
		failures: prometheus.NewDesc("ocp_agent_process_health_check_failures_total",
			"Failed health checks of the managed process since the agent started; absent when not configured.", labels, nil),
		cpu:       prometheus.NewDesc("ocp_agent_process_cpu_seconds_total", "CPU time used by the managed process's cgroup (cpu.stat usage_usec); absent without cgroups.", labels, nil),
		memory:    prometheus.NewDesc("ocp_agent_process_memory_bytes", "Memory of the managed process's cgroup (memory.current); absent without cgroups or the memory controller.", labels, nil),
		processes: prometheus.NewDesc("ocp_agent_process_processes", "Processes in the managed process's cgroup; absent without cgroups.", labels, nil),
	}
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.desired
	ch <- c.restarts
	ch <- c.exitCode
	ch <- c.healthy
	ch <- c.failures
	ch <- c.cpu
	ch <- c.memory
	ch <- c.processes
}

func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.a.mgr.Snapshots() {
		id := strconv.FormatInt(s.ID, 10)
		up := 0.0
		if s.Running {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, s.Alias, id)
		desired := 0.0
		if s.Desired == state.DesiredStarted {
			desired = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desired, prometheus.GaugeValue, desired, s.Alias, id)
		ch <- prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, float64(s.RestartCount), s.Alias, id)
		if s.LastExitCode != nil {
			ch <- prometheus.MustNewConstMetric(c.exitCode, prometheus.GaugeValue, float64(*s.LastExitCode), s.Alias, id)
		}
		c.collectHealth(ch, s, id)
		c.collectUsage(ch, s, id)
	}
}

// collectUsage reports what a running process's cgroup uses.
func (c *processCollector) collectUsage(ch chan<- prometheus.Metric, s procmgr.Snapshot, id string) {
	if !s.Running {
		return
	}
	if u, ok := c.a.mgr.CgroupStats(s.Alias); ok {
		ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, u.CPUSeconds, s.Alias, id)
		ch <- prometheus.MustNewConstMetric(c.processes, prometheus.GaugeValue, float64(u.Processes), s.Alias, id)
		if u.MemoryBytes != nil {
			ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(*u.MemoryBytes), s.Alias, id)
		}
	}
}

// collectHealth reports the health series of a process with a check.
func (c *processCollector) collectHealth(ch chan<- prometheus.Metric, s procmgr.Snapshot, id string) {
	if s.Health == "" {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.HealthChecksFailed), s.Alias, id)
	switch s.Health {
	case procmgr.HealthHealthy:
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, 1, s.Alias, id)
	case procmgr.HealthUnhealthy:
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, 0, s.Alias, id)
	}
}

// stopDurations times the stop sequences of managed processes, from the
// first signal to the answer, so that a process that needs SIGKILL or takes
// its whole stop_timeout shows up before someone complains about slow stops.
type stopDurations struct {
	hist *prometheus.HistogramVec
}

func newStopDurations() *stopDurations {
	return &stopDurations{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ocp_agent_process_stop_duration_seconds",
		Help:    "Time from the first stop signal until the managed process and its group were gone, by alias and result (stopped, survived_kill).",
		Buckets: durationBuckets,
	}, []string{"alias", "result"})}
}

// observe is procmgr's OnStop hook: it runs on the process's goroutine and
// only adds to a histogram, so it never blocks.
func (s *stopDurations) observe(alias string, took time.Duration, err error) {
	result := "stopped"
	if err != nil {
		result = "survived_kill"
	}
	s.hist.WithLabelValues(alias, result).Observe(took.Seconds())
}
