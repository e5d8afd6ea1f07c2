package procmgr

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A process's lines carry its alias first, as a With logger's did, honour
// the level, and name procmgr's call site when callers are annotated.
func TestProcLogAddsAlias(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l := procLog{log: zap.New(core, zap.AddCaller(), zap.AddCallerSkip(2)), alias: "web"}
	l.Debug("hidden")
	l.Info("started", zap.Int("pid", 42))
	l.Warn("slow")
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("got %d lines, want 2 (debug filtered): %v", len(all), all)
	}
	e := all[0]
	if e.Message != "started" || len(e.Context) != 2 || e.Context[0].Key != "alias" || e.Context[0].String != "web" ||
		e.Context[1].Key != "pid" || e.Context[1].Integer != 42 {
		t.Errorf("line = %q %+v, want started with alias=web then pid=42", e.Message, e.Context)
	}
	if !strings.HasSuffix(e.Caller.File, "proclog_test.go") {
		t.Errorf("caller = %s, want this test's line", e.Caller)
	}
	var zero procLog
	zero.Error("nothing to write to") // a proc built without a manager logs nothing
}
