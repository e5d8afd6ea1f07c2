//go:build !linux

package cgroup

import "errors"

// Hierarchy exists on Linux only; elsewhere Open always says off.
type Hierarchy struct{}

// Open says cgroups are off: there are none outside Linux.
func Open(setting string) (*Hierarchy, string, error) {
	if setting != "auto" && setting != "" && setting != "off" {
		return nil, "", errors.New("cgroup: a path needs Linux cgroup v2")
	}
	return nil, "off: no cgroups on this system", nil
}

// Preview says what Open would choose: off, outside Linux.
func Preview(setting string) (string, error) {
	_, desc, err := Open(setting)
	return desc, err
}
