package procmgr

import (
	"errors"
	"io/fs"
	"strconv"

	"go.uber.org/zap"
)

// writePidFile publishes pid in the pid directory as <alias>.pid for
// outside tools. It is written to a temporary file and renamed, so a
// reader never sees half a pid. A failure is logged, not fatal: the file
// is a courtesy, the state store is the record.
func (p *proc) writePidFile(pid int) {
	if p.m.runDir == nil {
		return
	}
	if err := p.m.runDir.writeAtomic(p.spec.Alias+".pid", []byte(strconv.Itoa(pid)+"\n")); err != nil {
		p.log.Warn("cannot write pid file", zap.Error(err))
	}
}

// keepPidFile is writePidFile at a load, which after an agent's restart
// finds most pid files holding their pid already: such a file is left as
// it is, read rather than made again and renamed (a create and a rename
// in one directory, for each of 1000 processes, were most of the start).
func (p *proc) keepPidFile(pid int) {
	if p.m.runDir == nil {
		return
	}
	if p.m.runDir.holds(p.spec.Alias+".pid", []byte(strconv.Itoa(pid)+"\n")) {
		return
	}
	p.writePidFile(pid)
}

// removePidFile removes the pid file once nothing runs.
func (p *proc) removePidFile() {
	if p.m.runDir == nil {
		return
	}
	if err := p.m.runDir.remove(p.spec.Alias + ".pid"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.log.Warn("cannot remove pid file", zap.Error(err))
	}
}
