package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenLogLinkSwap: the log directory is a link root made, inside a
// directory the managed user (nobody) owns, so the user may replace it
// with a link of its own to a root-only directory. While a swapper
// alternates the two as fast as it can, openLog never reads the root-only
// file: the link it judged is the link it follows. Before, a window
// between the check (lstat) and the open let the swap through.
func TestOpenLogLinkSwap(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the attack is a nobody-owned link read by root")
	}
	private := t.TempDir()
	secret := fmt.Sprintf("SECRET-%d", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(private, "app.log"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	if err := os.WriteFile(filepath.Join(logs, "app.log"), []byte("own line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	parent := openDir(t, nil)
	if err := os.Chown(parent, nobodyUID, nobodyGID); err != nil {
		t.Fatal(err)
	}
	dirLink := filepath.Join(parent, "logs")
	// place puts a link to target, owned by uid, at dirLink in one rename.
	place := func(target string, uid, gid int, tmp string) error {
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			return err
		}
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return err
		}
		return os.Rename(tmp, dirLink)
	}
	if err := place(logs, 0, 0, filepath.Join(parent, "t0")); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		for !stop.Load() {
			if err := place(private, nobodyUID, nobodyGID, filepath.Join(parent, "t1")); err != nil {
				done <- err
				return
			}
			if err := place(logs, 0, 0, filepath.Join(parent, "t0")); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var read, refused int
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		f, err := openLog(filepath.Join(dirLink, "app.log"))
		if err != nil {
			refused++
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if strings.Contains(string(b), secret) {
			stop.Store(true)
			<-done
			t.Fatalf("the root-only file was read through a swapped link (after %d reads)", read)
		}
		read++
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if read == 0 {
		t.Fatalf("never read the log through the trusted link (%d refused)", refused)
	}
	t.Logf("%d reads through the trusted link, %d refused", read, refused)
}
