package procmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// openOutput opens alias's output file for appending and returns it with
// its current size, where this run's output will start. Managed processes
// write to a file, never to a pipe held by the agent: a pipe would kill them
// with SIGPIPE when the agent restarts. The file is opened relative to the
// held output directory and never through a symlink (see heldDir).
func (m *Manager) openOutput(alias string) (*os.File, int64, error) {
	f, err := m.outDir.open(alias+".log", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, 0, fmt.Errorf("output file: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("output file %s: %w", f.Name(), err)
	}
	return f, off, nil
}

// tailOutput returns at most the last n lines written to path since offset,
// reading no more than the last 4 KiB: enough to say why a start failed.
// It never follows a symlink nor waits on a FIFO in path's place.
func tailOutput(path string, offset int64, n int) string {
	const maxRead = 4096
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil || end <= offset {
		return ""
	}
	from := max(offset, end-maxRead)
	buf := make([]byte, end-from)
	if _, err := f.ReadAt(buf, from); err != nil && err != io.EOF {
		return ""
	}
	buf = bytes.TrimRight(buf, "\n")
	lines := bytes.Split(buf, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
