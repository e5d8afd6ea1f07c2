package agent

import (
	"errors"
	"fmt"
	"strconv"
)

// errNotPositive is parseID's answer for zero, which is never an id.
var errNotPositive = errors.New("must be greater than 0")

// parseID parses a path parameter that names a host or an agent process. The
// OCP server sends ids as plain decimal numbers, sometimes zero-padded, so only
// ASCII digits are accepted: no sign, no spaces, no exponent, no underscores,
// which strconv alone would let through in some of its modes.
func parseID(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a decimal number: byte %d is %q", i, s[i])
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Only overflow can fail here: every byte is a digit.
		return 0, errors.New("out of the 64-bit range")
	}
	if n == 0 {
		return 0, errNotPositive
	}
	return n, nil
}

// pathParams are the validated path parameters of an API route; ProcessID is
// 0 on the list route, which has none.
type pathParams struct {
	HostID    int64
	ProcessID int64
}

// Names of the path parameters, as in the route templates and in the
// envelope's error target.
const (
	paramHostID    = "hostId"
	paramProcessID = "agentProcessId"
)

// parsePathParams validates the route's variables, hostId first, so that the
// error names the first parameter at fault.
func parsePathParams(vars map[string]string) (pathParams, *apiError) {
	var p pathParams
	for _, f := range []struct {
		name string
		dst  *int64
	}{{paramHostID, &p.HostID}, {paramProcessID, &p.ProcessID}} {
		v, ok := vars[f.name]
		if !ok {
			continue
		}
		id, err := parseID(v)
		if err != nil {
			return p, errBadParameter(f.name, v, err)
		}
		*f.dst = id
	}
	return p, nil
}
