// Command benchdrive drives the side-by-side benchmark of supervisord and
// ocp-agent (make bench; bench/run.sh starts and stops the managers): it
// writes their configs, measures each workload against both, and prints
// the table.
//
//	benchdrive config    -dir D -managed M -addr A -n N [-ops]
//	benchdrive phase100  -dir D -addr A -sv-pid P -agent-pid Q -n N -managed M -out R
//	benchdrive phase20   -dir D -addr A -sv-pid P -agent-pid Q -n N -out R
//	benchdrive phase1000 -dir D -addr A -agent-pid Q -n N -out R [-idle W]
//	benchdrive phasehealth -dir D -addr A -agent-pid Q -n N -out R [-idle W]
//	benchdrive restarted -dir D -addr A (-sv-pid P | -agent-pid Q) -n N -out R -since T -key K [-same]
//	benchdrive table R
//	benchdrive freeport
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchdrive config|phase100|phase20|phase1000|phasehealth|restarted|table|freeport ...")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "config":
		err = runConfig(args)
	case "phase100":
		err = runPhase100(args)
	case "phase20":
		err = runPhase20(args)
	case "phase1000":
		err = runPhase1000(args)
	case "phasehealth":
		err = runPhaseHealth(args)
	case "restarted":
		err = runRestarted(args)
	case "table":
		var res map[string]map[string]result
		if len(args) != 1 {
			err = errUsage
			break
		}
		if res, err = readResults(args[0]); err == nil {
			printTable(os.Stdout, res)
		}
	case "freeport":
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
			fmt.Println(ln.Addr().(*net.TCPAddr).Port)
			ln.Close()
		}
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdrive:", err)
		os.Exit(1)
	}
}

// common are the flags of the phases.
type common struct {
	dir, addr, out, managed string
	svPID, agentPID, n      int
}

func (c *common) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&c.dir, "dir", "", "the phase's directory (configs, sockets, state)")
	fs.StringVar(&c.addr, "addr", "", "the agent's listen address")
	fs.StringVar(&c.out, "out", "", "results file to append to")
	fs.StringVar(&c.managed, "managed", "", "the managed program")
	fs.IntVar(&c.svPID, "sv-pid", 0, "supervisord's pid")
	fs.IntVar(&c.agentPID, "agent-pid", 0, "ocp-agent's pid")
	fs.IntVar(&c.n, "n", 0, "listening programs")
	return fs
}

// targets returns the managers of the phase that run (a pid of 0: not
// measured), supervisord first, and the programs they manage.
func (c *common) targets(ops bool, conns int) (ts []*target, ps []program) {
	ps = programs(c.managed, c.dir, c.n, ops)
	ids := map[string]int64{}
	for _, p := range ps {
		ids[p.alias] = p.id
	}
	if c.svPID != 0 {
		ts = append(ts, supervisorTarget(svSock(c.dir), c.svPID, conns))
	}
	if c.agentPID != 0 {
		ts = append(ts, agentTarget(c.addr, c.agentPID, conns, ids))
	}
	return ts, ps
}

func (c *common) record(key, system string, v float64, note string) error {
	return record(c.out, result{Key: key, System: system, Value: v, Note: note})
}

func runConfig(args []string) error {
	var c common
	fs := c.flags("config")
	ops := fs.Bool("ops", false, "add the cooperative and the stubborn program")
	health := fs.Bool("health", false, "check each listening program over TCP every "+healthInterval.String()+" (agent)")
	fs.Parse(args)
	return writeConfigs(c.dir, c.managed, c.addr, c.n, *ops, *health)
}

func ready(timeout time.Duration, ps []program, ts ...*target) error {
	for _, t := range ts {
		if err := t.waitReady(ps, timeout); err != nil {
			return err
		}
	}
	return nil
}

// runPhase100: 100 listening programs under each manager, both running.
func runPhase100(args []string) error {
	var c common
	fs := c.flags("phase100")
	idle := fs.Duration("idle", 60*time.Second, "idle window")
	reps := fs.Int("reps", 200, "list calls timed")
	bursts := fs.Int("bursts", 5, "rounds of 100 concurrent stops, starts and restarts")
	fs.Parse(args)
	ts, ps := c.targets(false, 4)
	if err := ready(3*time.Minute, ps, ts...); err != nil {
		return err
	}
	time.Sleep(settle) // let start-up work settle
	fmt.Fprintf(os.Stderr, "idle CPU over %v...\n", *idle)
	var pids []int
	for _, t := range ts {
		pids = append(pids, t.pid)
	}
	cpu, err := idleCPU(pids, *idle)
	if err != nil {
		return err
	}
	for i, t := range ts {
		rss, anon, err := rssBytes(t.pid)
		if err != nil {
			return err
		}
		if err := c.record("idle100", t.name, cpu[i], ""); err != nil {
			return err
		}
		if err := c.record("rss100", t.name, float64(rss)/(1<<20), ""); err != nil {
			return err
		}
		if err := c.record("anon100", t.name, float64(anon)/(1<<20), ""); err != nil {
			return err
		}
	}
	// Alternate the two, so that both see the same noise.
	times := make([][]time.Duration, len(ts))
	cpus := make([][]time.Duration, len(ts))
	for range *reps / 10 {
		for i, t := range ts {
			ds, cpu, err := t.timeList(10)
			if err != nil {
				return err
			}
			times[i] = append(times[i], ds...)
			cpus[i] = append(cpus[i], cpu)
		}
	}
	for i, t := range ts {
		if err := c.record("list100", t.name, ms(median(times[i])), ""); err != nil {
			return err
		}
		if err := c.record("list100_cpu", t.name, ms(median(cpus[i])), ""); err != nil {
			return err
		}
	}
	cur, err := ts[len(ts)-1].current()
	if err != nil {
		return err
	}
	pids = nil
	for _, p := range ps {
		pids = append(pids, cur[p.alias].pid)
	}
	floor, err := portsFloor(pids, 50, procfs.Default.Sockets)
	if err != nil {
		return err
	}
	if err := c.record("floor100", sysAgent, ms(floor), ""); err != nil {
		return err
	}
	procNet, err := portsFloor(pids, 50, procfs.Default.ListeningSockets)
	if err != nil {
		return err
	}
	if err := c.record("procnet100", sysAgent, ms(procNet), ""); err != nil {
		return err
	}
	pidfd, err := pidfdFloor(c.managed, 20)
	if err != nil {
		return err
	}
	if err := c.record("pidfd_floor", sysAgent, ms(pidfd), ""); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bursts of %d stops, starts and restarts...\n", len(ps))
	if err := c.bursts(ts, ps, *bursts); err != nil {
		return err
	}
	kill, err := killFloor(c.managed, len(ps), 3)
	if err != nil {
		return err
	}
	if err := c.record("floor_burst", sysAgent, ms(kill), ""); err != nil {
		return err
	}
	start, err := startFloor(c.managed, len(ps), 3)
	if err != nil {
		return err
	}
	return c.record("floor_burst_start", sysAgent, ms(start), "")
}

// runPhase20: 20 programs (the cooperative and the stubborn ones among
// them) under each manager: stops, and lists under load.
func runPhase20(args []string) error {
	var c common
	fs := c.flags("phase20")
	coop := fs.Int("coop", 20, "cooperative stops per manager")
	stubborn := fs.Int("stubborn", 5, "stubborn stops per manager")
	loadFor := fs.Duration("load", 10*time.Second, "length of the load run")
	fs.Parse(args)
	ts, ps := c.targets(true, 64)
	if err := ready(3*time.Minute, ps, ts...); err != nil {
		return err
	}
	coopTimes := make([][]time.Duration, len(ts))
	for range *coop / 5 {
		for i, t := range ts {
			ds, err := t.coopStops(5)
			if err != nil {
				return err
			}
			coopTimes[i] = append(coopTimes[i], ds...)
		}
	}
	late, cpu := make([][]time.Duration, len(ts)), make([][]time.Duration, len(ts))
	for range *stubborn {
		for i, t := range ts {
			l, c, err := t.stubbornStop(c.dir)
			if err != nil {
				return err
			}
			late[i], cpu[i] = append(late[i], l), append(cpu[i], c)
		}
	}
	for i, t := range ts {
		for _, r := range []struct {
			key string
			v   time.Duration
		}{{"coop_stop", median(coopTimes[i])}, {"stubborn_late", median(late[i])}, {"stubborn_cpu", median(cpu[i])}} {
			if err := c.record(r.key, t.name, ms(r.v), ""); err != nil {
				return err
			}
		}
	}
	for _, t := range ts {
		if err := t.waitReady(ps, time.Minute); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "load on %s for %v...\n", t.name, *loadFor)
		r, err := t.load(50, 2000, *loadFor)
		if err != nil {
			return err
		}
		note := fmt.Sprintf("(p50 %s ms, %d stop+start cycles", num(ms(r.p50)), r.cycles)
		if r.failed > 0 {
			note += fmt.Sprintf(", %d failed or unsent", r.failed)
		}
		note += ")"
		if err := c.record("load_p99", t.name, ms(r.p99), note); err != nil {
			return err
		}
		if err := c.record("load_served", t.name, r.served, ""); err != nil {
			return err
		}
	}
	return nil
}

// settle is the pause between work and an idle window: within 15 s of a
// busy spell the agent returns the heap it freed (a collection), which is
// the cost of that spell, not of the idle agent.
const settle = 20 * time.Second

// runPhase1000: 1000 listening programs under the agent alone.
func runPhase1000(args []string) error {
	var c common
	fs := c.flags("phase1000")
	reps := fs.Int("reps", 30, "list calls timed")
	idle := fs.Duration("idle", 60*time.Second, "idle window")
	fs.Parse(args)
	ts, ps := c.targets(false, 4)
	if len(ts) != 1 || ts[0].name != sysAgent {
		return errors.New("phase1000 measures the agent alone")
	}
	ag := ts[0]
	if err := ready(10*time.Minute, ps, ag); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	ds, cpu, err := ag.timeList(*reps)
	if err != nil {
		return err
	}
	if err := c.record("list1000", sysAgent, ms(median(ds)), ""); err != nil {
		return err
	}
	if err := c.record("list1000_cpu", sysAgent, ms(cpu), ""); err != nil {
		return err
	}
	// The RSS right after the lists, then at rest, after the idle
	// window, as phase100 measures it with 100.
	busy, _, err := rssBytes(ag.pid)
	if err != nil {
		return err
	}
	if err := c.record("rss1000_busy", sysAgent, float64(busy)/(1<<20), ""); err != nil {
		return err
	}
	time.Sleep(settle) // the lists' aftermath is theirs, not the idle agent's

	fmt.Fprintf(os.Stderr, "idle CPU over %v...\n", *idle)
	idle1000, err := idleCPU([]int{ag.pid}, *idle)
	if err != nil {
		return err
	}
	if err := c.record("idle1000", sysAgent, idle1000[0], ""); err != nil {
		return err
	}
	rss, _, err := rssBytes(ag.pid)
	if err != nil {
		return err
	}
	if err := c.record("rss1000", sysAgent, float64(rss)/(1<<20), ""); err != nil {
		return err
	}
	// What each managed process adds: against the RSS with 100 of the
	// same programs, measured by phase100 of the same run.
	if res, err := readResults(c.out); err == nil {
		if r100, ok := res["rss100"][sysAgent]; ok && c.n > 100 {
			perProc := (float64(rss)/(1<<20) - r100.Value) * 1024 / float64(c.n-100)
			if err := c.record("rss_per_proc", sysAgent, perProc, ""); err != nil {
				return err
			}
		}
	}
	cur, err := ag.current()
	if err != nil {
		return err
	}
	return savePids(c.dir, cur)
}

// runPhaseHealth: the agent alone with 100 listening programs, each
// checked over TCP every 10 s (config -health): its idle CPU, to set
// against its idle CPU with the same programs unchecked (phase100).
func runPhaseHealth(args []string) error {
	var c common
	fs := c.flags("phasehealth")
	idle := fs.Duration("idle", 60*time.Second, "idle window")
	fs.Parse(args)
	ts, ps := c.targets(false, 4)
	if len(ts) != 1 || ts[0].name != sysAgent {
		return errors.New("phasehealth measures the agent alone")
	}
	ag := ts[0]
	if err := ready(3*time.Minute, ps, ag); err != nil {
		return err
	}
	if err := ag.waitHealthy(len(ps), time.Minute); err != nil {
		return err
	}
	time.Sleep(settle) // let start-up work settle
	fmt.Fprintf(os.Stderr, "idle CPU with health checks over %v...\n", *idle)
	cpu, err := idleCPU([]int{ag.pid}, *idle)
	if err != nil {
		return err
	}
	if err := c.record("idle100_health", sysAgent, cpu[0], ""); err != nil {
		return err
	}
	ports, err := healthPorts(filepath.Join(c.dir, "agent.yaml"))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "the same connects by the driver alone over %v...\n", *idle)
	floor, err := checkFloor(ports, healthInterval, *idle)
	if err != nil {
		return err
	}
	return c.record("floor_health", sysAgent, floor, "")
}

// healthPorts reads the ports of the TCP checks (tcp: N) of an agent's
// config that config -health wrote.
func healthPorts(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ports []int
	for _, m := range regexp.MustCompile(`(?m)^\s+tcp: (\d+)$`).FindAllSubmatch(b, -1) {
		p, err := strconv.Atoi(string(m[1]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ports = append(ports, p)
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("%s: no tcp health check", path)
	}
	return ports, nil
}
