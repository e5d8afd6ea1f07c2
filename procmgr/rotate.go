package procmgr

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// Output rotation defaults: a chatty process must not fill the disk.
const (
	defaultOutputMaxSize = 10 << 20
	defaultOutputBackups = 3
	rotateEvery          = 30 * time.Second
)

// rotateLoop keeps every output file under the size limit. One loop for
// the whole manager, on a slow tick: a stat per file per tick is all an
// idle host pays.
func (m *Manager) rotateLoop(ctx context.Context) {
	t := time.NewTicker(rotateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.rotateAll()
		}
	}
}

func (m *Manager) rotateAll() {
	for _, s := range m.Snapshots() {
		path := filepath.Join(m.outputDir, s.Alias+".log")
		rotated, err := rotateOutput(path, m.outputMaxSize, m.outputBackups)
		if err != nil {
			m.log.Warn("cannot rotate output", zap.String("alias", s.Alias), zap.Error(err))
		} else if rotated {
			m.log.Info("rotated output", zap.String("alias", s.Alias), zap.String("file", path))
		}
	}
}

// rotateOutput rotates path when it is larger than maxSize: path.1 ..
// path.N shift up (the oldest goes), path is copied to path.1 and then
// truncated. Copy and truncate rather than rename, because the process
// holds path open and would go on writing to the renamed file; it opened
// it O_APPEND, so after the truncation its writes land at the new end. What
// it writes between the copy and the truncation is lost: a few lines at
// most, the price every copytruncate rotation pays.
func rotateOutput(path string, maxSize int64, backups int) (bool, error) {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Size() <= maxSize {
		return false, nil
	}
	if backups < 1 {
		backups = 1
	}
	for i := backups - 1; i >= 1; i-- {
		from, to := fmt.Sprintf("%s.%d", path, i), fmt.Sprintf("%s.%d", path, i+1)
		if err := os.Rename(from, to); err != nil && !os.IsNotExist(err) {
			return false, err
		}
	}
	if err := copyFile(path, path+".1"); err != nil {
		return false, err
	}
	if err := os.Truncate(path, 0); err != nil {
		return false, fmt.Errorf("truncate %s: %w", path, err)
	}
	return true, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return dst.Close()
}
