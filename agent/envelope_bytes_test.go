package agent

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ocp-agent/ocp-agent/agent/api"
)

// TestMarshalEnvelopeSameBytes checks that splicing the data in gives
// exactly what encoding/json gives for the whole envelope.
func TestMarshalEnvelopeSameBytes(t *testing.T) {
	list := api.ProcessList{Contents: []api.HostAgentProcess{{ID: 185, HostID: 20, Alias: "obstat2",
		StartCommand: strp("/bin/sh -c \"a <b> & c\" 'é' \u2028 \x01"), Ports: strp("8089"), Status: api.StatusStarted}},
		Page: api.Page{TotalElements: 1, TotalPages: 1, Number: 1, Size: 1}}
	for _, tc := range []struct {
		name string
		data any
		err  *api.Error
	}{
		{"list", list, nil},
		{"empty list", api.ProcessList{Contents: []api.HostAgentProcess{}}, nil},
		{"one", list.Contents[0], nil},
		{"null", nil, nil},
		{"string", "x<y>&z", nil},
		{"no data, error", json.RawMessage(nil), &api.Error{Code: 40011, Message: "no <such> process", Target: "agentProcessId"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data json.RawMessage
			if raw, ok := tc.data.(json.RawMessage); ok {
				data = raw
			} else {
				var err error
				if data, err = marshal(tc.data); err != nil {
					t.Fatal(err)
				}
			}
			env := api.Envelope{Successful: tc.err == nil, Timestamp: "2026-11-27T09:07:34.192+00:00", Duration: 3,
				Status: 200, TraceID: "2665fe5e82b2fcd4", Server: "vm", Error: tc.err}
			got, err := marshalEnvelope(env, data)
			if err != nil {
				t.Fatal(err)
			}
			env.Data = data
			want, err := marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("spliced:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// marshalEnvelope is marshal(env) with env.Data set to data, the output
// of marshal: the same bytes, but data is put in as it is, where
// encoding/json would scan and compact it once more (as much work as
// encoding it: half the cost of the envelope of a list).
func marshalEnvelope(env api.Envelope, data json.RawMessage) ([]byte, error) {
	var body bytes.Buffer
	if len(data) > 0 {
		body.WriteString(dataOpening)
		body.Write(data)
	}
	err := closeEnvelope(&body, env)
	return body.Bytes(), err
}
