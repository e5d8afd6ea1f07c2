package main

import "testing"

func TestSalvage(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		id     int64
		socket string
	}{
		{"packaged layout", "host:\n  # the id\n  id: 7\nserver:\n  listen: \"127.0.0.1:1\"\n  socket: /run/a.sock   # here\n", 7, "/run/a.sock"},
		{"quoted socket", "server:\n  socket: \"/run/b c.sock\"\nhost:\n  id: 9 # x\n", 9, "/run/b c.sock"},
		{"broken elsewhere", "host:\n  id: 3\nprocesses: [unclosed\nserver:\n  socket: /s\n", 3, "/s"},
		{"keys of other sections", "log:\n  id: 5\n  socket: /no\nhost:\n  socket: /no\n", 0, ""},
		{"top-level key ends a section", "host:\nid: 4\nstate_dir: /x\n  socket: /no\n", 0, ""},
		{"relative socket", "server:\n  socket: run.sock\n", 0, ""},
		{"bad id", "host:\n  id: -1\n", 0, ""},
		{"empty", "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, socket := salvage([]byte(tc.in))
			if id != tc.id || socket != tc.socket {
				t.Errorf("salvage = %d, %q; want %d, %q", id, socket, tc.id, tc.socket)
			}
		})
	}
}

func FuzzSalvage(f *testing.F) {
	for _, s := range []string{"host:\n  id: 7\nserver:\n  socket: /run/a.sock\n", "server:\n  socket: '/x\n", "host:\n\tid: 1\n", "\x00:\n  id: 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, socket := salvage(data)
		if id < 0 || (socket != "" && socket[0] != '/') {
			t.Errorf("salvage = %d, %q", id, socket)
		}
	})
}
