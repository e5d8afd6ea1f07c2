package procmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// openOutput opens alias's output file for appending and returns it with
// its current size, where this run's output will start. Managed processes
// write to a file, never to a pipe held by the agent: a pipe would kill them
// with SIGPIPE when the agent restarts.
func openOutput(dir, alias string) (*os.File, int64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, 0, fmt.Errorf("output dir: %w", err)
	}
	path := filepath.Join(dir, alias+".log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, 0, fmt.Errorf("output file: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("output file %s: %w", path, err)
	}
	return f, off, nil
}

// tailOutput returns at most the last n lines written to path since offset,
// reading no more than the last 4 KiB: enough to say why a start failed.
func tailOutput(path string, offset int64, n int) string {
	const maxRead = 4096
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
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
