package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// tailChunk is how much printTail reads at a time, from the end backwards.
const tailChunk = 64 << 10

// followEvery is how often a followed file is checked for new lines and
// rotation. Polling rather than inotify: it sees renames, truncation and new
// files alike, on any file system, and a quarter second is soon enough for
// a person.
const followEvery = 250 * time.Millisecond

// newestMatch returns the most recently modified regular file matching
// pattern, or "" when none does. On a tie the shorter name wins: that is the
// live file (app.log) rather than a rotated copy (app.log.1). A symbolic
// link is never a candidate: the managed user owns the log directory, and
// a link planted there would have root print any file of the host.
func newestMatch(pattern string) (string, error) {
	names, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("log_file_pattern %q: %w", pattern, err)
	}
	var best string
	var bestTime time.Time
	for _, n := range names {
		fi, err := os.Lstat(n)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		t := fi.ModTime()
		if best == "" || t.After(bestTime) || (t.Equal(bestTime) && len(n) < len(best)) {
			best, bestTime = n, t
		}
	}
	return best, nil
}

// printTail prints the last n lines of file and returns the offset after
// them, where following goes on.
func printTail(file string, n int, emit lineEmitter) (int64, error) {
	f, err := openLog(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	start, err := tailStart(f, size, n)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	data := make([]byte, size-start)
	if _, err := f.ReadAt(data, start); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read %s: %w", file, err)
	}
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if err := emit(file, bytes.TrimSuffix(line, []byte("\n"))); err != nil {
			return 0, err
		}
	}
	return size, nil
}

// tailStart finds where the last n lines of the first size bytes of f
// begin, reading backwards so that a huge log costs what its tail costs.
func tailStart(f io.ReaderAt, size int64, n int) (int64, error) {
	if n == 0 {
		return size, nil
	}
	end := size
	// A final newline ends the last line; it does not start another.
	lines := 0
	last := make([]byte, 1)
	if size > 0 {
		if _, err := f.ReadAt(last, size-1); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if last[0] == '\n' {
			lines = -1
		}
	}
	buf := make([]byte, tailChunk)
	for end > 0 {
		k := min(int64(len(buf)), end)
		chunk := buf[:k]
		if _, err := f.ReadAt(chunk, end-k); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			if lines++; lines == n {
				return end - k + int64(i) + 1, nil
			}
		}
		end -= k
	}
	return 0, nil
}

// follower prints the lines appended to the newest file matching pattern,
// moving to the next file when the log rotates.
type follower struct {
	pattern string
	emit    lineEmitter
	f       *os.File
	name    string
	partial []byte // an unterminated last line, printed once it ends
}

// run follows from offset off of file ("" when no file matches yet) until
// ctx is done.
func (fl *follower) run(ctx context.Context, file string, off int64) error {
	defer func() {
		if fl.f != nil {
			fl.f.Close()
		}
	}()
	if file != "" {
		if err := fl.open(file, off); err != nil {
			return err
		}
	}
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		if fl.f != nil {
			if err := fl.drain(); err != nil {
				return err
			}
		}
		if next := fl.rotated(); next != "" {
			// The old file is read to its end above: switch to the new one.
			fl.flushPartial()
			if fl.f != nil {
				fl.f.Close()
				fl.f = nil
			}
			if err := fl.open(next, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			fl.flushPartial()
			return nil
		case <-t.C:
		}
	}
}

func (fl *follower) open(name string, off int64) error {
	f, err := openLog(name)
	if err != nil {
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("read %s: %w", name, err)
	}
	fl.f, fl.name = f, name
	return nil
}

// drain prints every complete line written since the last call; a file
// truncated in place (copytruncate) is read again from its start.
func (fl *follower) drain() error {
	off, err := fl.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("read %s: %w", fl.name, err)
	}
	if fi, err := fl.f.Stat(); err == nil && fi.Size() < off {
		fl.flushPartial()
		if _, err := fl.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("read %s: %w", fl.name, err)
		}
	}
	data, err := io.ReadAll(fl.f)
	if err != nil {
		return fmt.Errorf("read %s: %w", fl.name, err)
	}
	data = append(fl.partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if err := fl.emit(fl.name, data[:i]); err != nil {
			return err
		}
		data = data[i+1:]
	}
	fl.partial = append([]byte(nil), data...)
	return nil
}

func (fl *follower) flushPartial() {
	if len(fl.partial) > 0 {
		fl.emit(fl.name, fl.partial)
		fl.partial = nil
	}
}

// rotated returns the file to follow next, or "" to stay: the newest match
// when it is another file than the one open (the open one was renamed away
// or removed, or a newer file took over), or the first match to appear.
func (fl *follower) rotated() string {
	next, err := newestMatch(fl.pattern)
	if err != nil || next == "" {
		return ""
	}
	if fl.f == nil {
		return next
	}
	nfi, err := os.Lstat(next)
	if err != nil {
		return ""
	}
	ofi, err := fl.f.Stat()
	if err != nil || os.SameFile(nfi, ofi) {
		return ""
	}
	// The open file still sits at its name and got the last write: a
	// sibling with the same time is no reason to move.
	if cur, err := os.Lstat(fl.name); err == nil && os.SameFile(cur, ofi) && !nfi.ModTime().After(ofi.ModTime()) {
		return ""
	}
	return next
}
