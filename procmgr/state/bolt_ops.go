package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// AssignID implements Store.AssignID in one transaction, so that the id,
// its reverse entry and the largest id ever given are written together.
// An alias that has its id already (every alias, when an agent starts
// again on the same config) is answered from a read-only transaction: a
// write would be a durable commit for nothing, one per configured
// process.
func (b *Bolt) AssignID(alias string, explicit int64) (int64, error) {
	op := fmt.Sprintf("assign id to %q", alias)
	var id int64
	if alias != "" && explicit >= 0 {
		var has bool
		err := b.run(op, false, func(tx *bolt.Tx) error {
			var err error
			id, has, err = boltIDs{tx}.idOf(alias)
			return err
		})
		if err != nil {
			return 0, err
		}
		if has && (explicit == 0 || explicit == id) {
			return id, nil
		}
	}
	err := b.run(op, true, func(tx *bolt.Tx) error {
		var err error
		id, err = assignID(boltIDs{tx}, alias, explicit)
		return err
	})
	return id, err
}

// Get implements Store.Get.
func (b *Bolt) Get(alias string) (r Record, ok bool, err error) {
	err = b.run(fmt.Sprintf("get record %q", alias), false, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get([]byte(alias))
		if v == nil {
			return nil
		}
		r, err = decodeRecord(alias, v)
		ok = err == nil
		return err
	})
	return r, ok, err
}

// Put implements Store.Put; the record is on disk when it returns.
func (b *Bolt) Put(r Record) error {
	op := fmt.Sprintf("put record %q", r.Alias)
	v, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return b.run(op, true, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put([]byte(r.Alias), v)
	})
}

// PutAll implements Store.PutAll.
func (b *Bolt) PutAll(rs []Record) error {
	op := fmt.Sprintf("put %d records", len(rs))
	vs, err := encodeRecords(rs)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return b.run(op, true, func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketRecords)
		for i, r := range rs {
			if err := records.Put([]byte(r.Alias), vs[i]); err != nil {
				return fmt.Errorf("record %q: %w", r.Alias, err)
			}
		}
		return nil
	})
}

// Delete implements Store.Delete. The alias's id is kept: ids are never
// reused, and the alias gets the same id back if it is configured again.
func (b *Bolt) Delete(alias string) error {
	return b.run(fmt.Sprintf("delete record %q", alias), true, func(tx *bolt.Tx) error {
		if alias == "" {
			return nil // no record has one, and bbolt refuses an empty key
		}
		return tx.Bucket(bucketRecords).Delete([]byte(alias))
	})
}

// All implements Store.All; bbolt keeps keys in byte order, which is the
// order of Go's string comparison, so Memory sorts the same way.
func (b *Bolt) All() ([]Record, error) {
	records := []Record{}
	err := b.run("list records", false, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(string(k), v)
			if err != nil {
				return err
			}
			records = append(records, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// run runs fn in a read-write transaction, committed (fsync'd) by the
// writer together with whatever other writes are queued, or in a read-only
// one. Its errors name the operation and the file. A panic inside bbolt,
// which is how it meets a page corrupted after the check at open (a stray
// read out of its memory map included, with panic-on-fault), becomes an
// error: bbolt's own deferred rollback has released the transaction by then.
func (b *Bolt) run(op string, write bool, fn func(*bolt.Tx) error) (err error) {
	if write {
		err = b.queue(fn)
	} else {
		err = b.view(fn)
	}
	var corrupt *corruptError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &corrupt):
		return fmt.Errorf("%s: state %s is corrupt: %v", op, b.path, corrupt.p)
	case errors.Is(err, ErrClosed), errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%s: %w", op, ErrClosed)
	default:
		return fmt.Errorf("%s in %s: %w", op, b.path, err)
	}
}

// view is db.View in this goroutine, with panic-on-fault set for it and a
// panic turned into a *corruptError.
func (b *Bolt) view(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &corruptError{p}
		}
	}()
	return b.db.View(fn)
}

// boltIDs is the idTable of a Bolt, inside one read-write transaction.
type boltIDs struct{ tx *bolt.Tx }

func (t boltIDs) idOf(alias string) (int64, bool, error) {
	v := t.tx.Bucket(bucketAliases).Get([]byte(alias))
	if v == nil {
		return 0, false, nil
	}
	id, err := decodeID(v)
	if err != nil {
		return 0, false, fmt.Errorf("id of alias %q: %w", alias, err)
	}
	return id, true, nil
}

func (t boltIDs) ownerOf(id int64) (string, bool, error) {
	v := t.tx.Bucket(bucketIDs).Get(encodeID(id))
	if v == nil {
		return "", false, nil
	}
	return string(v), true, nil
}

func (t boltIDs) maxID() (int64, error) {
	v := t.tx.Bucket(bucketMeta).Get(keyMaxID)
	if v == nil {
		return 0, nil
	}
	max, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || max < 0 {
		return 0, fmt.Errorf("invalid largest id %q", v)
	}
	return max, nil
}

func (t boltIDs) assign(alias string, id int64) error {
	max, err := t.maxID()
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketAliases).Put([]byte(alias), encodeID(id)); err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketIDs).Put(encodeID(id), []byte(alias)); err != nil {
		return err
	}
	if id <= max {
		return nil
	}
	return t.tx.Bucket(bucketMeta).Put(keyMaxID, []byte(strconv.FormatInt(id, 10)))
}

// encodeID is big-endian, so that the ids bucket lists ids in order.
func encodeID(id int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(id))
}

func decodeID(v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("invalid stored id %x", v)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}
