package procmgr

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// procLog is the logger of one process: the manager's logger, with the
// process's alias added to each line as it is written. A zap With logger
// per process would keep a clone of the encoder and its buffer (about
// 1.3 KiB) for each of a thousand processes, each of which logs at least
// its start; zap's WithLazy clones on the first line, so it would too.
// This keeps nothing but the alias. It has the methods of *zap.Logger
// that procmgr uses, so that call sites read the same.
type procLog struct {
	// log is the manager's, with zap.AddCallerSkip(2) (Manager.plog), so
	// that a logger that annotates callers names procmgr's call site, not
	// this file; nil logs nothing.
	log   *zap.Logger
	alias string
}

func (l procLog) Debug(msg string, fields ...zap.Field) { l.write(zapcore.DebugLevel, msg, fields) }
func (l procLog) Info(msg string, fields ...zap.Field)  { l.write(zapcore.InfoLevel, msg, fields) }
func (l procLog) Warn(msg string, fields ...zap.Field)  { l.write(zapcore.WarnLevel, msg, fields) }
func (l procLog) Error(msg string, fields ...zap.Field) { l.write(zapcore.ErrorLevel, msg, fields) }

// write logs msg with the alias first, where With would have put it. The
// level is checked before anything is allocated.
func (l procLog) write(lvl zapcore.Level, msg string, fields []zap.Field) {
	if l.log == nil {
		return
	}
	if ce := l.log.Check(lvl, msg); ce != nil {
		ce.Write(append([]zap.Field{zap.String("alias", l.alias)}, fields...)...)
	}
}
