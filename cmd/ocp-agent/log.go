package main

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ocp-agent/ocp-agent/config"
)

// newLogger builds the one logger of the process: console lines on stderr
// (journald adds the time), or JSON lines appended to log.file.
func newLogger(c config.Log) (*zap.Logger, func(), error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, nil, err
	}
	var enc zapcore.Encoder
	var out zapcore.WriteSyncer
	closer := func() {}
	if c.File == "" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
		out = zapcore.Lock(os.Stderr)
	} else {
		f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, err
		}
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		out = zapcore.Lock(f)
		closer = func() { f.Close() }
	}
	log := zap.New(zapcore.NewCore(enc, out, level), zap.ErrorOutput(zapcore.Lock(os.Stderr)))
	return log, func() { log.Sync(); closer() }, nil
}
