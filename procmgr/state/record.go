package state

import (
	"encoding/json"
	"errors"
	"fmt"
)

// validate refuses records that no reader could use, at the write rather
// than at the agent's next start, when the bad value would be found far from
// the code that wrote it.
func validate(r Record) error {
	if r.Alias == "" {
		return errors.New("record has an empty alias")
	}
	switch r.Desired {
	case "", DesiredStarted, DesiredStopped:
	default:
		return fmt.Errorf("record %q: desired status %q is neither %s nor %s",
			r.Alias, r.Desired, DesiredStarted, DesiredStopped)
	}
	return nil
}

// encodeRecord is the stored form of r. Both stores keep this form (Memory
// too), so that a record read back is a copy that shares nothing with the
// caller's (LastExitCode is a pointer) and carries the same time values
// (no monotonic reading) whichever store is used.
func encodeRecord(r Record) ([]byte, error) {
	if err := validate(r); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %q: %w", r.Alias, err)
	}
	return b, nil
}

// decodeRecord reads a stored record back.
func decodeRecord(alias string, b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("decode record %q: %w", alias, err)
	}
	if r.Alias != alias {
		return Record{}, fmt.Errorf("decode record %q: it names alias %q", alias, r.Alias)
	}
	return r, nil
}

// encodeRecords encodes rs for a write of them all; an error names the
// record that cannot be encoded.
func encodeRecords(rs []Record) ([][]byte, error) {
	vs := make([][]byte, len(rs))
	for i, r := range rs {
		v, err := encodeRecord(r)
		if err != nil {
			return nil, fmt.Errorf("record %q: %w", r.Alias, err)
		}
		vs[i] = v
	}
	return vs, nil
}
