package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/ocp-agent/ocp-agent/config"
)

// newLogger builds the one logger of the process, as log: configures it:
// to stderr (journald under systemd), or to log.file rotated by size so
// that the log never grows without bound; console lines or JSON.
func newLogger(c config.Log) (*zap.Logger, func(), error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, nil, err
	}
	var out zapcore.WriteSyncer
	closer := func() error { return nil }
	if c.File == "" {
		out = zapcore.Lock(os.Stderr)
	} else {
		w, err := newRotatingFile(c)
		if err != nil {
			return nil, nil, err
		}
		out, closer = zapcore.AddSync(w), w.Close
	}
	enc := newEncoder(c.Format, c.File == "" && stderrIsJournal())
	log := zap.New(zapcore.NewCore(enc, out, level), zap.ErrorOutput(zapcore.Lock(os.Stderr)))
	return log, func() { log.Sync(); closer() }, nil
}

// newRotatingFile opens log.file through lumberjack, which rotates it at
// max_size and keeps max_backups old files. The file is opened now, so that
// a directory that does not exist or is not writable fails the start rather
// than the first line.
func newRotatingFile(c config.Log) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(c.File), 0o750); err != nil {
		return nil, fmt.Errorf("create the directory of %s: %w", c.File, err)
	}
	f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	f.Close()
	return &lumberjack.Logger{Filename: c.File, MaxSize: c.MaxSizeMB, MaxBackups: c.MaxBackups}, nil
}

// newEncoder returns the encoder of format. Console lines to the journal
// leave the time out: journald stamps every line already.
func newEncoder(format string, journal bool) zapcore.Encoder {
	if format == config.LogFormatJSON {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		return zapcore.NewJSONEncoder(ec)
	}
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.StacktraceKey = ""
	if journal {
		ec.TimeKey = ""
	}
	return zapcore.NewConsoleEncoder(ec)
}

// stderrIsJournal says whether stderr is connected to journald: systemd
// sets JOURNAL_STREAM to the device and inode of that stream.
func stderrIsJournal() bool {
	js := os.Getenv("JOURNAL_STREAM")
	if js == "" {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(os.Stderr.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
