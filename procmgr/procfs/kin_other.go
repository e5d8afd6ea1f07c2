//go:build !linux

package procfs

// AllKin needs Linux's pidfds; elsewhere the caller reads stat files.
func (fs FS) AllKin() ([]Kin, error) { return nil, ErrNoPidfdInfo }

// MayAskPidfds is false: AllKin needs Linux's pidfds.
func (fs FS) MayAskPidfds() bool { return false }
