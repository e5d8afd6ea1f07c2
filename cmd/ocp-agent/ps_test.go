package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// psSample is a list as an agent with the spec's lastError and
// nextStartTime sends it (recorded by hand from the spec's field names: the
// agent of this tree does not send them yet): a process crash-looping on a
// port in use, a running one, and one stopped on purpose.
const psSample = `[
 {"id":185,"hostId":20,"alias":"obstat2","pid":0,"user":null,"startCommand":"/opt/demo -p 8089","ports":null,
  "elapsedTime":0,"lastActiveTime":"2026-11-28T02:59:58+00:00","status":"STOPPED","operable":true,
  "logFilePattern":null,"createTime":"2026-11-28T02:00:00+00:00","updateTime":"2026-11-28T02:59:58+00:00",
  "desiredStatus":"STARTED","restartCount":3,"lastExitCode":1,
  "lastError":"exited 1: bind: address already in use","nextStartTime":"2026-11-28T03:00:08+00:00"},
 {"id":186,"hostId":20,"alias":"web","pid":4242,"user":"www","startCommand":"web --serve","ports":"8080",
  "elapsedTime":75,"lastActiveTime":null,"status":"STARTED","operable":true,"logFilePattern":null,
  "createTime":"2026-11-28T02:00:00+00:00","updateTime":"2026-11-28T02:00:00+00:00",
  "desiredStatus":"STARTED","restartCount":0,"lastExitCode":null,"lastError":null,"nextStartTime":null},
 {"id":187,"hostId":20,"alias":"idle","pid":0,"user":null,"startCommand":"idle","ports":null,
  "elapsedTime":0,"lastActiveTime":null,"status":"STOPPED","operable":true,"logFilePattern":null,
  "createTime":"2026-11-28T02:00:00+00:00","updateTime":"2026-11-28T02:00:00+00:00",
  "desiredStatus":"STOPPED","restartCount":0,"lastExitCode":0,"lastError":"exited 0","nextStartTime":null}
]`

func TestPsShowsWhy(t *testing.T) {
	var rows []psRow
	if err := json.Unmarshal([]byte(psSample), &rows); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		now   time.Time
		long  bool
		lines []string
	}{
		{"restart due", now, false, []string{
			"ID   ALIAS    STATUS                   PID   USER  PORTS  UPTIME  RESTARTS  WHY",
			"185  obstat2  STOPPED (wants STARTED)  -     -     -      -       3         restarting in 8s — exited 1: bind: address already in use",
			"186  web      STARTED                  4242  www   8080   1m15s   0",
			"187  idle     STOPPED                  -     -     -      -       0",
		}},
		{"restart overdue", now.Add(time.Minute), false, []string{
			"185  obstat2  STOPPED (wants STARTED)  -     -     -      -       3         restarting now — exited 1: bind: address already in use",
		}},
		{"long", now, true, []string{
			"ID   ALIAS    STATUS                   PID   USER  PORTS  UPTIME  RESTARTS  LAST-EXIT  NOFILE  NPROC  CORE  COMMAND            WHY",
			"185  obstat2  STOPPED (wants STARTED)  -     -     -      -       3         1          -       -      -     /opt/demo -p 8089  restarting in 8s",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printPs(&b, rows, tc.long, tc.now); err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.lines {
				if !strings.Contains(b.String(), l) {
					t.Errorf("lacks %q:\n%s", l, b.String())
				}
			}
		})
	}
	// Without the extras (an agent that does not send them) there is no
	// WHY column.
	var b bytes.Buffer
	rows[0].LastError, rows[0].NextStartTime = nil, nil
	printPs(&b, rows, false, now)
	if strings.Contains(b.String(), "WHY") {
		t.Errorf("a WHY column with nothing in it:\n%s", b.String())
	}
}

func TestParseLimits(t *testing.T) {
	const sample = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max core file size        0                    unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            1024                 524288               files     
`
	tests := []struct {
		name, text string
		want       limits
	}{
		{"recorded", sample, limits{"1024", "96364", "0"}},
		{"empty", "", noLimits},
		{"cut short", "Max open files", noLimits},
	}
	for _, tc := range tests {
		if got := parseLimits(tc.text); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := readLimits(-1); got != noLimits {
		t.Errorf("no pid: %+v", got)
	}
}

func TestEscapeControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tkept", "tab\tkept"},
		{"\x1b]0;pwned\x07title", `\x1b]0;pwned\x07title`},
		{"\x1b[2J clear", `\x1b[2J clear`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bad \xff utf-8", `bad \xff utf-8`},
		{"héllo ✓", "héllo ✓"},
		{"cr\rover", `cr\x0dover`},
	}
	for _, tc := range tests {
		if got := string(escapeControls([]byte(tc.in))); got != tc.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
