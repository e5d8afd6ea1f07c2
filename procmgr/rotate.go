package procmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Output rotation defaults: a chatty process must not fill the disk.
const (
	defaultOutputMaxSize = 10 << 20
	defaultOutputBackups = 3
	// rotateEvery is how often every file is looked at when the output
	// directory cannot be watched (or the watch failed).
	rotateEvery = 30 * time.Second
	// sweepEvery is the backstop while the directory is watched: the watch
	// reports every write, and says when its queue overflowed, so this
	// only bounds what a write lost some other way could cost. An idle
	// agent wakes this rarely, for a stat of each file: with a thousand
	// processes, a look at every file each 30 s was most of what it did.
	sweepEvery = 10 * time.Minute
	// copyEvery paces the copies into backups per file: a process writing
	// faster than OutputMaxSize per copyEvery has its extra output dropped
	// rather than copied, so that the agent's own writes stay bounded
	// (OutputMaxSize per copyEvery per file) whatever the rate.
	copyEvery = time.Second
)

// rotateStats counts what rotation wrote and dropped, for tests and logs.
type rotateStats struct {
	copied  atomic.Int64 // bytes the agent wrote into backups
	dropped atomic.Int64 // bytes truncated away without a copy
}

// rotateLoop keeps every output file near its size limit: it watches the
// output directory and, when a file was written, looks at its size at
// once, so that a process writing as fast as it can is cut back within
// moments rather than at the next tick. It is the only goroutine that
// rotates, so a file is never rotated twice at once. lastCopy belongs to
// it alone.
func (m *Manager) rotateLoop(ctx context.Context) {
	w, err := watchModify(m.outDir.path)
	if err != nil {
		m.log.Warn("cannot watch output files: they are rotated every "+rotateEvery.String()+" only", zap.Error(err))
	} else {
		stop := context.AfterFunc(ctx, func() { w.close() })
		defer stop()
	}
	lastCopy := map[string]time.Time{}
	var tick <-chan time.Time // while unwatched
	for {
		var names []string
		all := false
		if w != nil {
			var err error
			names, all, err = w.next(sweepEvery)
			if err != nil && ctx.Err() == nil {
				m.log.Warn("output watch failed: rotating every "+rotateEvery.String()+" only", zap.Error(err))
				w.close()
				w = nil
			}
		}
		if w == nil {
			if tick == nil {
				t := time.NewTicker(rotateEvery)
				defer t.Stop()
				tick = t.C
			}
			select {
			case <-ctx.Done():
			case <-tick:
			}
		}
		if ctx.Err() != nil {
			return
		}
		if w == nil || all || len(names) == 0 {
			m.rotateAll(lastCopy)
			continue
		}
		for _, name := range names {
			alias, ok := strings.CutSuffix(name, ".log")
			if _, known := m.get(alias); ok && known {
				m.rotate(alias, lastCopy)
			}
		}
	}
}

func (m *Manager) rotateAll(lastCopy map[string]time.Time) {
	for _, s := range m.Snapshots() {
		m.rotate(s.Alias, lastCopy)
	}
}

// rotate rotates alias's output when it is over the limit, copying into
// a backup at most once per copyEvery.
func (m *Manager) rotate(alias string, lastCopy map[string]time.Time) {
	keep := time.Since(lastCopy[alias]) >= copyEvery
	r, err := rotateOutput(m.outDir, alias+".log", m.outputMaxSize, m.outputBackups, keep)
	switch {
	case err != nil:
		m.log.Warn("cannot rotate output", zap.String("alias", alias), zap.Error(err))
	case r.copied > 0:
		lastCopy[alias] = time.Now()
		m.rotated.copied.Add(r.copied)
		m.rotated.dropped.Add(r.dropped)
		m.log.Info("rotated output", zap.String("alias", alias), zap.Int64("kept", r.copied), zap.Int64("dropped", r.dropped))
	case r.dropped > 0:
		m.rotated.dropped.Add(r.dropped)
		m.log.Debug("output over its limit again within "+copyEvery.String()+": dropped", zap.String("alias", alias), zap.Int64("dropped", r.dropped))
	}
}

// rotation is what one rotateOutput did.
type rotation struct {
	copied, dropped int64
}

// rotateOutput rotates name in dir when it is larger than maxSize. With
// keep, name.1 .. name.N shift up (the oldest goes) and the last maxSize
// bytes of name are copied to a new name.1: at most maxSize bytes written,
// however large name grew; what came before is dropped. Then name is
// truncated. Copy and truncate rather than rename, because the process
// holds name open and would go on writing to the renamed file; it opened
// it O_APPEND, so after the truncation its writes land at the new end.
// What it writes between the copy and the truncation is lost: a few lines
// at most, the price every copytruncate rotation pays. Every file is
// opened relative to dir and never through a symlink.
func rotateOutput(dir *heldDir, name string, maxSize int64, backups int, keep bool) (rotation, error) {
	// Most looks find the file under its limit: a stat says so without
	// opening it.
	if size, err := dir.size(name); errors.Is(err, fs.ErrNotExist) || (err == nil && size <= maxSize) {
		return rotation{}, nil
	}
	f, err := dir.open(name, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return rotation{}, nil
	}
	if err != nil {
		return rotation{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return rotation{}, err
	}
	size := fi.Size()
	if size <= maxSize {
		return rotation{}, nil
	}
	var r rotation
	if keep {
		if r.copied, err = backup(dir, f, name, size, maxSize, backups); err != nil {
			return rotation{}, err
		}
	}
	if err := f.Truncate(0); err != nil {
		return r, fmt.Errorf("truncate %s: %w", f.Name(), err)
	}
	r.dropped = size - r.copied
	return r, nil
}

// backup shifts name's backups and copies the last maxSize bytes of src
// (size long) into name.1, returning how many bytes it wrote.
func backup(dir *heldDir, src *os.File, name string, size, maxSize int64, backups int) (int64, error) {
	if backups < 1 {
		backups = 1
	}
	for i := backups - 1; i >= 1; i-- {
		if err := dir.rename(fmt.Sprintf("%s.%d", name, i), fmt.Sprintf("%s.%d", name, i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	first := name + ".1"
	if err := dir.remove(first); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	dst, err := dir.open(first, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, err
	}
	from := max(0, size-maxSize)
	if _, err := src.Seek(from, io.SeekStart); err != nil {
		dst.Close()
		return 0, fmt.Errorf("copy %s: %w", src.Name(), err)
	}
	n, err := io.Copy(dst, io.LimitReader(src, size-from))
	if err != nil {
		dst.Close()
		return n, fmt.Errorf("copy %s: %w", src.Name(), err)
	}
	return n, dst.Close()
}
