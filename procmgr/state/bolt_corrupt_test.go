package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// TestBoltBadFiles: a state.db that is not ours, or not a database at all,
// is an error naming the file, and the directory lock is released with it.
func TestBoltBadFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
		want  string // in the error; "" for success
	}{
		{"text file", writeBytes(bytes.Repeat([]byte("not a database\n"), 1000)), "corrupt, or not a bbolt database"},
		{"random bytes", writeBytes(random), "corrupt, or not a bbolt database"},
		{"zeros", writeBytes(make([]byte, 16<<10)), "corrupt, or not a bbolt database"},
		{"too short", writeBytes([]byte("x")), "open state"},
		{"truncated database", truncatedDB, "corrupt"},
		{"empty file is a new database", writeBytes(nil), ""},
		{"newer schema", boltWith(map[string]map[string]string{"meta": {"schema": "2"}}),
			"schema version 2 is newer than this agent understands (1)"},
		{"unreadable schema", boltWith(map[string]map[string]string{"meta": {"schema": "one"}}),
			`invalid schema version "one"`},
		{"another program's database", boltWith(map[string]map[string]string{"widgets": {"a": "b"}}),
			`not an ocp-agent state database`},
		{"a directory", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, "open state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, dbName)
			tt.write(t, path)
			s, err := OpenBolt(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("OpenBolt: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("OpenBolt succeeded; want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("OpenBolt: %v; want the file's name and %q", err, tt.want)
			}
			t.Log(err)
			l, err := lockDir(dir)
			if err != nil {
				t.Fatalf("the lock was kept after a failed open: %v", err)
			}
			l.unlock()
		})
	}
}

func writeBytes(b []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// boltWith writes a bbolt database with the given buckets and keys.
func boltWith(buckets map[string]map[string]string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			for name, kv := range buckets {
				b, err := tx.CreateBucket([]byte(name))
				if err != nil {
					return err
				}
				for k, v := range kv {
					if err := b.Put([]byte(k), []byte(v)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// populatedDB writes a real state database with records over many pages.
func populatedDB(t *testing.T, path string) {
	t.Helper()
	s, err := OpenBolt(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for g := range 40 {
		if _, err := s.AssignID(fmt.Sprintf("p%02d", g), 0); err != nil {
			t.Fatal(err)
		}
		mustPut(t, s, genRecord(g, g*50))
	}
}

// TestBoltOpenTimeout: a program other than an agent (bbolt's CLI, a backup
// tool) holding the database file makes OpenBolt fail, not hang.
func TestBoltOpenTimeout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, dbName)
	populatedDB(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = OpenBolt(dir)
	if err == nil || !strings.Contains(err.Error(), "another program has the file locked") ||
		!strings.Contains(err.Error(), path) {
		t.Fatalf("OpenBolt = %v; want a timeout naming %s", err, path)
	}
	if waited := time.Since(start); waited > openTimeout+2*time.Second {
		t.Fatalf("OpenBolt waited %s; want about %s", waited, openTimeout)
	}
}

func truncatedDB(t *testing.T, path string) {
	populatedDB(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestBoltCorruptPages overwrites each page of a real database in turn
// with garbage: opening and using it may fail, but must not panic.
func TestBoltCorruptPages(t *testing.T) {
	src := filepath.Join(t.TempDir(), dbName)
	populatedDB(t, src)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	seed := uint64(3)
	if s, err := strconv.ParseUint(os.Getenv("STATE_TEST_SEED"), 10, 64); err == nil {
		seed = s // to run more patterns than the default
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	failed, total := 0, 0
	stride := 1
	if testing.Short() {
		stride = 4
	}
	for p := 0; p*page < len(orig); p += stride {
		// Alternately the page header with the first elements (whose
		// lengths, if trusted, send reads outside the file) and somewhere
		// in the data.
		at := 0
		if p%2 == 1 {
			at = rng.IntN(page - 64)
		}
		total++
		b := bytes.Clone(orig)
		for i := range 64 {
			b[p*page+at+i] = byte(rng.UintN(256))
		}
		dir := t.TempDir()
		path := filepath.Join(dir, dbName)
		writeBytes(b)(t, path)
		if err := useCorrupt(dir); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("page %d+%d: error does not name %s: %v", p, at, path, err)
			}
			failed++
		}
	}
	t.Logf("%d of %d corrupted files were refused or failed in use", failed, total)
}

// useCorrupt opens dir and runs every operation, returning the first error.
func useCorrupt(dir string) error {
	s, err := OpenBolt(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	var errs []error
	_, err = s.All()
	errs = append(errs, err)
	_, _, err = s.Get("p07")
	errs = append(errs, err)
	_, err = s.AssignID("new", 0)
	errs = append(errs, err)
	errs = append(errs, s.Put(genRecord(3, 7)), s.Delete("p05"))
	return errors.Join(errs...)
}
