package procmgr

import (
	"sync"

	"github.com/ocp-agent/ocp-agent/procmgr/procfs"
)

// hostScan is one listing of every process on the host, taken when first
// asked for and then shared by all the adoptions of an agent's start
// (New). Each search that needs the whole host (a process group's
// members, a launch token, a match) would otherwise list it again: with
// 1000 processes to adopt, that is 1000 listings of 1000 processes. What
// it lists existed before the agent looked, which is what adoption looks
// for; every process taken from it is checked again (pidfd and start time,
// or a fresh stat) before it is acted on. The zero value is ready.
type hostScan struct {
	// once guards stats and err: adoptions of an agent's start may run
	// on several goroutines.
	once  sync.Once
	stats []procfs.Stat
	err   error
}

// all returns the listing, taking it on the first call.
func (s *hostScan) all(fs procfs.FS) ([]procfs.Stat, error) {
	s.once.Do(func() { s.stats, s.err = fs.AllStats() })
	return s.stats, s.err
}

// allStats lists the host's processes: the start's shared listing while
// the proc is loaded, a fresh one afterwards (an owner's search must see
// what runs now).
func (p *proc) allStats() ([]procfs.Stat, error) {
	if p.scan != nil {
		return p.scan.all(p.m.fs)
	}
	return p.m.fs.AllStats()
}
