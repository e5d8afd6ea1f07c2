package state

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// maxReadIDsFile bounds the copy ReadIDOwners makes: a state of thousands
// of processes is a few hundred KiB.
const maxReadIDsFile = 64 << 20

// ReadIDOwners returns which alias each id of the state in dir was ever
// given to, for `config check`; an empty map when there is no state yet.
//
// It takes no lock and never waits: a running agent holds the directory's
// lock and bbolt's exclusive lock on the file, so opening it (even
// read-only, which wants a shared lock) would block until the agent
// stops. Instead the file is read twice and used only when both reads are
// equal, so that no write ran in between; that copy is opened as a private
// database in a temporary file. bbolt never writes in place (a commit
// writes new pages, then the meta page), so an unchanged file is a
// committed state.
func ReadIDOwners(dir string) (map[int64]string, error) {
	path := filepath.Join(dir, dbName)
	data, err := stableRead(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[int64]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "ocp-agent-state-*.db")
	if err != nil {
		return nil, fmt.Errorf("copy state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("copy state %s: %w", path, err)
	}
	db, err := openDB(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	defer db.Close()
	owners := map[int64]string{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIDs)
		if b == nil {
			return nil // a fresh database: no id given yet
		}
		return b.ForEach(func(k, v []byte) error {
			id, err := decodeID(k)
			if err != nil {
				return err
			}
			owners[id] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	return owners, nil
}

// stableRead reads path until two reads in a row agree.
func stableRead(path string) ([]byte, error) {
	prev, err := readCapped(path)
	for try := 0; err == nil && try < 10; try++ {
		var next []byte
		if next, err = readCapped(path); err == nil && bytes.Equal(prev, next) {
			return next, nil
		}
		prev = next
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("read state %s: it kept changing while read", path)
}

func readCapped(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxReadIDsFile {
		return nil, fmt.Errorf("read state %s: larger than %d bytes", path, maxReadIDsFile)
	}
	return os.ReadFile(path)
}
