package config_test

import (
	"reflect"
	"testing"

	"github.com/ocp-agent/ocp-agent/config"
)

func TestWarnings(t *testing.T) {
	const hash = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"bcrypt hash", user("a", `"`+hash+`"`, "[HOST_VIEWER]"), nil},
		{"plain password", user("a", "secret", "[HOST_VIEWER]"), []string{
			"w.yaml:6: auth.users[0].password: stored in plain text; a bcrypt hash ($2a$...) is safer, but OCP-HMACSHA256 signing needs the plain value",
		}},
		{"truncated bcrypt hash", user("a", `"$2a$10$..."`, "[HOST_VIEWER]"), []string{
			"w.yaml:6: auth.users[0].password: starts like a bcrypt hash but is not a complete one (60 characters, like $2a$10$ and 53 more): no password will match it",
		}},
		{"no users", hostOnly, []string{
			"w.yaml: auth.users: no users: the HTTP API on 127.0.0.1:62888 refuses every protected route (401)",
		}},
		{"no users under auth", hostOnly + "auth:\n  users: []\n", []string{
			"w.yaml:4: auth.users: no users: the HTTP API on 127.0.0.1:62888 refuses every protected route (401)",
		}},
		{"no users without listener", hostOnly + "server:\n  listen: \"\"\n  socket: /run/a.sock\n", nil},
		{"auth disabled", hostOnly + "auth:\n  disabled: true\n", []string{
			"w.yaml:4: auth.disabled: authentication is disabled: anyone on this host can stop and start processes through 127.0.0.1:62888",
		}},
		{"auth disabled with users", hostOnly + "auth:\n  disabled: true\n  users:\n    - {name: a, password: \"" + hash + "\", permissions: [HOST_VIEWER]}\n", []string{
			"w.yaml:4: auth.disabled: authentication is disabled: anyone on this host can stop and start processes through 127.0.0.1:62888",
			"w.yaml:5: auth.users: ignored on the TCP listener because auth.disabled is true",
		}},
		{"no API at all", hostOnly + "server:\n  listen: \"\"\n", []string{
			"w.yaml:4: server.listen: listen and socket are both empty: the agent serves no API",
		}},
		{"bad log glob", hostOnly + "auth: {disabled: true}\nprocesses:\n  - alias: p\n    start_command: x\n    log_file_pattern: /var/log/p/*.log[\n", []string{
			"w.yaml:3: auth.disabled: authentication is disabled: anyone on this host can stop and start processes through 127.0.0.1:62888",
			"w.yaml:7: processes[0].log_file_pattern: \"/var/log/p/*.log[\" is not a valid glob pattern; `ocp-agent logs` will find no file",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("w.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(c.Warnings, tt.want) {
				t.Errorf("warnings:\n got %q\nwant %q", c.Warnings, tt.want)
			}
		})
	}
}
