//go:build !linux

package procfs

import (
	"errors"
	"time"
)

// SinceBoot returns the time since boot. It is implemented on Linux only;
// elsewhere it returns errors.ErrUnsupported. (The package builds on other
// systems so that code using it can be vetted there.)
func SinceBoot() (time.Duration, error) {
	return 0, errors.ErrUnsupported
}
