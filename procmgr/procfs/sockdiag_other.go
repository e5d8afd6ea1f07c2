//go:build !linux

package procfs

// Sockets is ListeningSockets where there is no sock_diag.
func (fs FS) Sockets() (SocketTable, error) {
	return fs.ListeningSockets()
}
