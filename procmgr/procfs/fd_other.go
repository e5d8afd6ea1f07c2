//go:build !linux

package procfs

import (
	"errors"
	"os"
)

// socketLinks returns the socket inodes of the fd links in dir, unsorted
// (fd_linux.go does the same with bare system calls). A link closed
// during the scan is skipped.
func socketLinks(dir string) ([]uint64, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	var inodes []uint64
	for _, name := range names {
		target, err := os.Readlink(dir + "/" + name)
		if errors.Is(err, os.ErrNotExist) {
			continue // closed since the listing (or the process exited)
		}
		if err != nil {
			return nil, gone(err)
		}
		if ino, ok := parseSocketLink(target); ok {
			inodes = append(inodes, ino)
		}
	}
	return inodes, nil
}

// readDirNames lists the names in dir.
func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, gone(err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, gone(err)
	}
	return names, nil
}

// ownSockets is socketLinks, where there is no cheaper way; held is of no
// use there.
func ownSockets(dir string, _ FDSet) ([]uint64, error) { return socketLinks(dir) }
