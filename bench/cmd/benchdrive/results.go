package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// result is one figure of one system, a line of the results file.
type result struct {
	Key    string  `json:"key"`
	System string  `json:"system"` // sysSupervisor or sysAgent
	Value  float64 `json:"value"`
	Note   string  `json:"note,omitempty"` // said after the value, e.g. "(62 req/s)"
}

const (
	sysSupervisor = "supervisord"
	sysAgent      = "ocp-agent"
)

// record appends r to the results file and says it on stderr, so that a
// long run shows progress.
func record(path string, r result) error {
	fmt.Fprintf(os.Stderr, "  %-20s %-12s %10.3f %s\n", r.Key, r.System, r.Value, r.Note)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(r)
}

func readResults(path string) (map[string]map[string]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]result{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if out[r.Key] == nil {
			out[r.Key] = map[string]result{}
		}
		out[r.Key][r.System] = r
	}
	return out, sc.Err()
}

// row is one line of the table: how to say a figure, and which way is
// better for the ratio.
type row struct {
	key, label, unit string
	higherBetter     bool
	// noRatio: a ratio would mean nothing (a lateness can be 0 or less).
	noRatio bool
	// listOf, set on a floor's row, makes its ratio how many times the
	// floor the agent's figure of that key (a list) is.
	listOf string
}

var rows = []row{
	{key: "coop_stop", label: "cooperative stop, round trip (median)", unit: "ms"},
	{key: "stubborn_late", label: "stubborn stop, 1 s grace: exit seen after the grace by (median)", unit: "ms", noRatio: true},
	{key: "stubborn_cpu", label: "stubborn stop: manager CPU for the whole stop (median)", unit: "ms"},
	{key: "list100", label: "list of 100 processes (median)", unit: "ms"},
	{key: "list100_cpu", label: "  same: manager CPU per list", unit: "ms"},
	{key: "floor100", label: "floor: ports of the 100 through sock_diag + fds, in-process", unit: "ms", listOf: "list100"},
	{key: "procnet100", label: "ports of the 100 through /proc/net + fds, in-process", unit: "ms"},
	{key: "pidfd_floor", label: "floor: kill to exit seen through a pidfd (median)", unit: "ms"},
	{key: "rss100", label: "RSS with 100 processes (after the idle window)", unit: "MiB"},
	{key: "anon100", label: "  of which anonymous (not pages of the program's files)", unit: "MiB"},
	{key: "idle100", label: "idle CPU with 100 processes", unit: "% core"},
	{key: "idle100_health", label: "  same, each checked over TCP every 10 s (the agent alone)", unit: "% core"},
	{key: "floor_health", label: "floor: the same 100 connects every 10 s, by a program doing nothing else", unit: "% core"},
	{key: "list1000", label: "list of 1000 processes (median)", unit: "ms"},
	{key: "list1000_cpu", label: "  same: manager CPU per list", unit: "ms"},
	{key: "rss1000", label: "RSS with 1000 processes (after the idle window, as with 100)", unit: "MiB"},
	{key: "rss1000_busy", label: "  same, right after the lists of 1000", unit: "MiB"},
	{key: "rss_per_proc", label: "  memory per managed process beyond 100 (RSS with 1000 less with 100, /900)", unit: "KiB"},
	{key: "idle1000", label: "idle CPU with 1000 processes", unit: "% core"},
	{key: "restart1000", label: "manager restarted with 1000 running: its API lists all 1000 running, after (agent: from exec, adopting; supervisord: from SIGTERM, stopping and starting them)", unit: "ms"},
	{key: "restart1000_rss", label: "  same: RSS once all adopted", unit: "MiB"},
	{key: "stop1_of100", label: "stop of 1 process among 100 (median)", unit: "ms"},
	{key: "burst_stop", label: "100 processes stopped at once (agent: 100 requests; supervisord: stopAllProcesses): last answer (median)", unit: "ms"},
	{key: "floor_burst", label: "floor: 100 programs sent SIGTERM at once, last exit seen", unit: "ms"},
	{key: "burst_start", label: "100 processes started at once: last answer beyond the 1 s start wait (median)", unit: "ms"},
	{key: "burst_restart", label: "100 processes restarted at once: last answer beyond the 1 s start wait (median)", unit: "ms"},
	{key: "floor_burst_start", label: "floor: 100 programs started at once, the last exec'd", unit: "ms"},
	{key: "load_p99", label: "2000 lists/s, 50 clients, 20 processes, stops+starts: p99", unit: "ms"},
	{key: "load_served", label: "  same: lists served per second", unit: "/s", higherBetter: true},
}

// printTable writes the results as one Markdown table: workload,
// supervisord, ocp-agent, ratio (how many times better ocp-agent is).
func printTable(w io.Writer, res map[string]map[string]result) {
	fmt.Fprintln(w, "| workload | supervisord | ocp-agent | ratio |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range rows {
		got := res[r.key]
		if got == nil {
			continue
		}
		sv, hasSV := got[sysSupervisor]
		ag, hasAg := got[sysAgent]
		cell := func(x result, ok bool) string {
			if !ok {
				return "—"
			}
			return strings.TrimSpace(fmt.Sprintf("%s %s %s", num(x.Value), r.unit, x.Note))
		}
		ratio := "—"
		switch {
		case r.noRatio:
		case r.listOf != "" && hasAg:
			if list, ok := res[r.listOf][sysAgent]; ok && ag.Value > 0 {
				ratio = fmt.Sprintf("list = %.1fx floor", list.Value/ag.Value)
			}
		case hasSV && hasAg && r.higherBetter && sv.Value > 0:
			ratio = fmt.Sprintf("%.1fx", ag.Value/sv.Value)
		case hasSV && hasAg && !r.higherBetter && ag.Value > 0:
			ratio = fmt.Sprintf("%.1fx", sv.Value/ag.Value)
		case hasSV && hasAg && !r.higherBetter:
			ratio = "∞"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.label, cell(sv, hasSV), cell(ag, hasAg), ratio)
	}
}

// num prints a figure with about three significant digits.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
