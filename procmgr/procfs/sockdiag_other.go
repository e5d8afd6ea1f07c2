//go:build !linux

package procfs

// Sockets is ListeningSockets where there is no sock_diag.
func (fs FS) Sockets() (SocketTable, error) {
	return fs.ListeningSockets()
}

// SocketsByCgroup is ListeningSockets, without cgroup ids, where there is
// no sock_diag.
func (fs FS) SocketsByCgroup() (SocketTable, CgroupPorts, error) {
	t, err := fs.ListeningSockets()
	return t, nil, err
}
