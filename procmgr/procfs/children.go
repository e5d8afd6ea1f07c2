package procfs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
)

// ErrNoChildren says the kernel has no /proc/PID/task/TID/children files
// (built without CONFIG_PROC_CHILDREN): a process's children are then
// found only by a pass over every process (AllStats).
var ErrNoChildren = errors.New("no /proc children files")

// childrenReadings bounds how often Children reads the lists again when
// two readings differ.
const childrenReadings = 4

// Children returns the pids of pid's children, sorted: the children of
// each of its threads (a child is on the list of the thread that forked
// it, an orphan handed to a subreaper on the list of one of its threads).
// That is a few small reads where a pass over every process reads a file
// per process.
//
// The kernel builds a list one child at a time, and a child reaped
// meanwhile can make it skip the next: the lists are read again until two
// readings agree (at most childrenReadings times; the last reading is
// returned then, with what it may lack).
func (fs FS) Children(pid int) ([]int, error) {
	prev, err := fs.readChildren(pid)
	if err != nil {
		return nil, err
	}
	for range childrenReadings - 1 {
		cur, err := fs.readChildren(pid)
		if err != nil {
			return nil, err
		}
		if slices.Equal(prev, cur) {
			break
		}
		prev = cur
	}
	return prev, nil
}

// readChildren reads the children lists of every thread of pid once.
func (fs FS) readChildren(pid int) ([]int, error) {
	dir := fs.pidPath(pid, "task")
	d, err := os.Open(dir)
	if err != nil {
		return nil, gone(err)
	}
	tids, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, gone(err)
	}
	var kids []int
	read := 0
	var buf []byte
	for _, tid := range tids {
		path := dir + "/" + tid + "/children"
		b, err := readInto(path, buf)
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread that has exited (or no such file at all)
		}
		if err != nil {
			return nil, err
		}
		buf = b
		read++
		if kids, err = appendChildren(kids, b); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	if read == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, gone(err) // the process itself is gone
		}
		return nil, ErrNoChildren
	}
	slices.Sort(kids)
	return kids, nil
}

// ParseChildren parses a children file: pids separated by spaces.
func ParseChildren(b []byte) ([]int, error) {
	return appendChildren(nil, b)
}

func appendChildren(kids []int, b []byte) ([]int, error) {
	for i := 0; i < len(b); {
		if isSpace(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && !isSpace(b[j]) {
			j++
		}
		n, err := strconv.Atoi(string(b[i:j]))
		if err != nil || n <= 0 {
			return kids, fmt.Errorf("bad pid %q", b[i:j])
		}
		kids = append(kids, n)
		i = j
	}
	return kids, nil
}
