//go:build !linux

package procfs

import "errors"

// OpenProcess needs Linux's pread of /proc files; elsewhere the caller
// reads fresh files.
func (fsys FS) OpenProcess(pid int) (*Process, error) { return nil, errors.ErrUnsupported }

// Close does nothing: no Process is ever opened here.
func (p *Process) Close() error { return nil }

func (p *Process) read(int, string, []byte) ([]byte, error) { return nil, errors.ErrUnsupported }

func (p *Process) pidfdRealUID() (int, error) { return 0, errors.ErrUnsupported }
