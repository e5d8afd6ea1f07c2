package procmgr

import (
	"go.uber.org/zap"

	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// writePidFile publishes pid in dir/<alias>.pid for outside tools. It is
// written to a temporary file and renamed, so a reader never sees half a
// pid. A failure is logged, not fatal: the file is a courtesy, the state
// store is the record.
func (p *proc) writePidFile(pid int) {
	if p.m.pidDir == "" {
		return
	}
	if err := writeFileAtomic(p.m.pidDir, p.spec.Alias+".pid", []byte(strconv.Itoa(pid)+"\n")); err != nil {
		p.log.Warn("cannot write pid file", zap.Error(err))
	}
}

// removePidFile removes the pid file once nothing runs.
func (p *proc) removePidFile() {
	if p.m.pidDir == "" {
		return
	}
	path := filepath.Join(p.m.pidDir, p.spec.Alias+".pid")
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		p.log.Warn("cannot remove pid file", zap.Error(err))
	}
}

func writeFileAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pid dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
