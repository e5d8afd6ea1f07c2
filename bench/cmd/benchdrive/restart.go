package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// pidsFile is where phase1000 leaves the pids of its programs, for
// restarted to check that the next agent adopted the same ones.
func pidsFile(dir string) string { return filepath.Join(dir, "pids.json") }

func savePids(dir string, cur map[string]listedProc) error {
	pids := map[string]int{}
	for alias, p := range cur {
		pids[alias] = p.pid
	}
	b, err := json.Marshal(pids)
	if err != nil {
		return err
	}
	return os.WriteFile(pidsFile(dir), b, 0o644)
}

// runRestarted measures a manager started again over running programs
// (bench/run.sh stopped the previous one and noted the time of the new
// one's exec, or of the old one's SIGTERM, in -since, Unix ns): the time
// until its API lists every program running. With -same, each must run
// under the pid it had before (the agent adopts them); supervisord cannot
// and starts its own anew.
func runRestarted(args []string) error {
	var c common
	fs := c.flags("restarted")
	since := fs.Int64("since", 0, "when the restart began, Unix ns")
	key := fs.String("key", "restart1000", "result key")
	same := fs.Bool("same", false, "require the pids phase1000 saved")
	fs.Parse(args)
	t0 := time.Unix(0, *since)
	ts, ps := c.targets(false, 4)
	if len(ts) != 1 {
		return fmt.Errorf("restarted measures one manager")
	}
	t := ts[0]
	var want map[string]int
	if *same {
		b, err := os.ReadFile(pidsFile(c.dir))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &want); err != nil {
			return err
		}
	}
	deadline := t0.Add(10 * time.Minute)
	for {
		cur, err := t.current()
		took := time.Since(t0)
		if err == nil {
			up := 0
			for _, p := range ps {
				lp, ok := cur[p.alias]
				if !ok || !lp.running {
					break
				}
				if want != nil && lp.pid != want[p.alias] {
					return fmt.Errorf("%s: %s runs as pid %d, was %d: not adopted", t.name, p.alias, lp.pid, want[p.alias])
				}
				up++
			}
			if up == len(ps) {
				note := ""
				if want != nil {
					note = "(all adopted, same pids)"
				}
				if err := c.record(*key, t.name, ms(took), note); err != nil {
					return err
				}
				if t.name != sysAgent {
					return nil
				}
				rss, _, err := rssBytes(t.pid)
				if err != nil {
					return err
				}
				return c.record(*key+"_rss", t.name, float64(rss)/(1<<20), "")
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not all running %v after the restart (%v)", t.name, time.Since(t0), err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
