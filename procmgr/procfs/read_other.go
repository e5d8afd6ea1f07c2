//go:build !linux

package procfs

import (
	"io"
	"os"
	"slices"
)

// readRecord is readInto (read_linux.go saves a read where it can).
func readRecord(path string, buf []byte) ([]byte, error) { return readInto(path, buf) }

// readInto reads a whole file into buf[:0], growing it as needed, and
// returns it (read_linux.go does the same with bare system calls).
func readInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, gone(err)
	}
	defer f.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, cap(buf)))
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, gone(err)
		}
	}
}
