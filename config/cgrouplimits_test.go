package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
	"github.com/ocp-agent/ocp-agent/procmgr/cgroup"
)

// TestCgroupLimitsParse: each key's accepted forms, and each bad value
// reported at its line under its key.
func TestCgroupLimitsParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		want cgroup.Limits
		line int    // of the error; 0: accepted
		key  string // of the error
		msg  string
	}{
		{"none", nil, cgroup.Limits{}, 0, "", ""},
		{"empty strings and 0", []string{`memory_max: ""`, `cpu_max: ""`, "pids_max: 0"}, cgroup.Limits{}, 0, "", ""},
		{"all", []string{"memory_max: 2G", `cpu_max: "200000 100000"`, "pids_max: 512"},
			cgroup.Limits{MemoryMax: 2 << 30, CPUMax: "200000 100000", PidsMax: 512}, 0, "", ""},
		{"memory bytes", []string{"memory_max: 1073741824"}, cgroup.Limits{MemoryMax: 1 << 30}, 0, "", ""},
		{"cpu quota alone", []string{"cpu_max: 50000"}, cgroup.Limits{CPUMax: "50000 100000"}, 0, "", ""},
		{"memory unit", []string{"memory_max: 2GB"}, cgroup.Limits{}, 6, "processes[0].memory_max", "want bytes as a whole number"},
		{"memory zero", []string{"memory_max: 0"}, cgroup.Limits{}, 6, "processes[0].memory_max", "must be more than 0"},
		{"memory negative", []string{"memory_max: -1G"}, cgroup.Limits{}, 6, "processes[0].memory_max", "whole number"},
		{"memory list", []string{"memory_max: [1]"}, cgroup.Limits{}, 6, "processes[0].memory_max", "want a string"},
		{"cpu three numbers", []string{"autostart: true", `cpu_max: "1 2 3"`}, cgroup.Limits{}, 7, "processes[0].cpu_max", "one or two numbers"},
		{"cpu small quota", []string{"cpu_max: 10"}, cgroup.Limits{}, 6, "processes[0].cpu_max", "quota under 1000"},
		{"cpu max word", []string{`cpu_max: "max 100000"`}, cgroup.Limits{}, 6, "processes[0].cpu_max", "quota is not a whole number"},
		{"pids negative", []string{"pids_max: -5"}, cgroup.Limits{}, 6, "processes[0].pids_max", "must be >= 0"},
		{"pids string", []string{"pids_max: many"}, cgroup.Limits{}, 6, "processes[0].pids_max", "want a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("c.yaml", []byte(proc(tc.keys...)))
			if tc.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Processes[0].CgroupLimits; got != tc.want {
					t.Errorf("limits = %+v, want %+v", got, tc.want)
				}
				return
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) || cerr.Line != tc.line || cerr.Key != tc.key || !strings.Contains(cerr.Msg, tc.msg) {
				t.Errorf("err = %v, want line %d, key %s, message with %q", err, tc.line, tc.key, tc.msg)
			}
		})
	}
}

// TestCheckCgroupLimits: each limit the check refuses is reported at its
// own line under its own key, with the check's reason and the alias.
func TestCheckCgroupLimits(t *testing.T) {
	c, err := config.Parse("c.yaml", []byte(proc("memory_max: 1G", "pids_max: 10", `cpu_max: "100000"`)))
	if err != nil {
		t.Fatal(err)
	}
	if errs := c.CheckCgroupLimits(func(cgroup.Limits) error { return nil }); len(errs) != 0 {
		t.Errorf("all settable: %v", errs)
	}
	noMemory := func(l cgroup.Limits) error {
		if l.MemoryMax > 0 {
			return fmt.Errorf("%w: memory_max needs the memory controller", cgroup.ErrNoController)
		}
		return nil
	}
	errs := c.CheckCgroupLimits(noMemory)
	if len(errs) != 1 || errs[0].Line != 6 || errs[0].Key != "processes[0].memory_max" ||
		!strings.Contains(errs[0].Msg, "memory_max needs the memory controller") || !strings.Contains(errs[0].Msg, "process p") {
		t.Errorf("errs = %v", errs)
	}
	all := c.CheckCgroupLimits(func(cgroup.Limits) error { return errors.New("cgroups are off") })
	var lines []int
	for _, e := range all {
		lines = append(lines, e.Line)
	}
	if fmt.Sprint(lines) != "[6 8 7]" {
		t.Errorf("lines = %v, want memory_max, cpu_max, pids_max: [6 8 7]", lines)
	}
}

// FuzzCgroupLimits feeds any value to the three keys: Parse never panics,
// a refusal is a *config.Error at the key's line, and what it accepts is
// what the kernel takes (cpu.max normalised to "QUOTA PERIOD").
func FuzzCgroupLimits(f *testing.F) {
	for _, s := range []string{"2G", "512M", "1", "0", "", "-1", "18446744073709551615", "16384T", "200000 100000", "1000", "max", "1e3", " 1000 "} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, mem, cpu, pids string) {
		for _, v := range []string{mem, cpu, pids} {
			if strings.ContainsAny(v, "\n\r\x00") {
				return
			}
		}
		yaml := proc(fmt.Sprintf("memory_max: %q", mem), fmt.Sprintf("cpu_max: %q", cpu), "pids_max: "+pids)
		c, err := config.Parse("c.yaml", []byte(yaml))
		if err != nil {
			var cerr *config.Error
			if !errors.As(err, &cerr) || cerr.Line < 1 {
				t.Fatalf("err = %v (%T)", err, err)
			}
			return
		}
		l := c.Processes[0].CgroupLimits
		if l.CPUMax != "" {
			var q, p uint64
			if n, _ := fmt.Sscanf(l.CPUMax, "%d %d", &q, &p); n != 2 || q < 1000 || p < 1000 || p > 1000000 || fmt.Sprintf("%d %d", q, p) != l.CPUMax {
				t.Errorf("cpu_max %q accepted as %q", cpu, l.CPUMax)
			}
		}
		if l.PidsMax < 0 || (mem != "" && l.MemoryMax == 0) {
			t.Errorf("accepted %+v from %q %q %q", l, mem, cpu, pids)
		}
	})
}
