package state

import (
	"bytes"
	"fmt"
	"runtime/debug"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// prepare checks an existing database, then creates what a new one lacks.
//
// bbolt trusts the file: a corrupt page makes it panic, or read outside its
// memory map (a fault, fatal unless the goroutine asked for a panic), at
// whatever moment it first touches that page. So before anything is written,
// every key and value is read once, in this goroutine with panic-on-fault
// set, and a panic becomes an error naming the file. The database is small
// (one record per managed process), so this costs little at start-up.
func prepare(db *bolt.DB, path string) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("open state %s: database is corrupt: %v", path, p)
		}
	}()
	fresh := false
	if err := db.View(func(tx *bolt.Tx) (err error) {
		fresh, err = checkAll(tx)
		return err
	}); err != nil {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	// bbolt's own check also finds pages both free and in use, which
	// later writes would overwrite. It runs in a goroutine of its own, so
	// only once checkAll has shown that every page reads back sanely.
	if err := db.View(checkBolt); err != nil {
		return fmt.Errorf("open state %s: database is corrupt: %w", path, err)
	}
	if !fresh {
		return nil // nothing to write: a read-only check leaves the file as it was
	}
	if err := db.Update(initSchema); err != nil {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	return nil
}

// checkAll refuses a database of another program or of a newer schema, and
// reads every entry of ours, checking its form and that the id tables agree.
// fresh is true for a new, empty database.
func checkAll(tx *bolt.Tx) (fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return false, fmt.Errorf("not an ocp-agent state database (it has bucket %q but no %q)", k, bucketMeta)
		}
		return true, nil
	}
	if err := checkSchema(meta); err != nil {
		return false, err
	}
	for _, name := range [][]byte{bucketAliases, bucketIDs, bucketRecords} {
		if tx.Bucket(name) == nil {
			return false, fmt.Errorf("database is corrupt: bucket %q is missing", name)
		}
	}
	return false, checkEntries(tx)
}

// checkEntries reads every entry of the database.
func checkEntries(tx *bolt.Tx) error {
	maxID, err := boltIDs{tx}.maxID()
	if err != nil {
		return err
	}
	ids := tx.Bucket(bucketIDs)
	if err := forEach(tx, bucketIDs, func(k, v []byte) error {
		id, err := decodeID(k)
		switch {
		case err != nil:
			return err
		case id <= 0 || id > maxID:
			return fmt.Errorf("id %d is outside 1..%d, the ids ever assigned", id, maxID)
		case len(v) == 0:
			return fmt.Errorf("id %d has no alias", id)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := forEach(tx, bucketAliases, func(k, v []byte) error {
		id, err := decodeID(v)
		if err != nil {
			return fmt.Errorf("alias %q: %w", k, err)
		}
		if owner := ids.Get(v); !bytes.Equal(owner, k) {
			return fmt.Errorf("alias %q has id %d, which the id table gives to %q", k, id, owner)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := forEach(tx, bucketRecords, func(k, v []byte) error {
		_, err := decodeRecord(string(k), v)
		return err
	}); err != nil {
		return err
	}
	return forEach(tx, bucketMeta, func(k, v []byte) error { return nil })
}

// checkSchema refuses a schema version this code does not know.
func checkSchema(meta *bolt.Bucket) error {
	v, err := strconv.Atoi(string(meta.Get(keySchema)))
	switch {
	case err != nil || v < 1:
		return fmt.Errorf("invalid schema version %q", meta.Get(keySchema))
	case v > schemaVersion:
		return fmt.Errorf("schema version %d is newer than this agent understands (%d): run a newer agent",
			v, schemaVersion)
	}
	return nil
}

// forEach reads every entry of a bucket, when it exists, checking that keys
// come in strictly ascending order and that none is a nested bucket.
func forEach(tx *bolt.Tx, name []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(name)
	if b == nil {
		return nil
	}
	var prev []byte
	return b.ForEach(func(k, v []byte) error {
		switch {
		case prev != nil && bytes.Compare(prev, k) >= 0:
			return fmt.Errorf("bucket %s: keys out of order (%q after %q)", name, k, prev)
		case v == nil:
			return fmt.Errorf("bucket %s: unexpected nested bucket %q", name, k)
		}
		prev = k
		if err := fn(k, v); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
		return nil
	})
}

// checkBolt runs bbolt's consistency check, reporting its first finding.
func checkBolt(tx *bolt.Tx) error {
	var errs []error
	for err := range tx.Check() {
		errs = append(errs, err)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return fmt.Errorf("%w (and %d more problems)", errs[0], len(errs)-1)
	}
}

// initSchema creates the buckets and the schema version of a new database.
func initSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketAliases, bucketIDs, bucketRecords} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
