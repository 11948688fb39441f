package failures

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// disk is where the records' files live: a directory, behind an interface
// so that tests can make it fail or stall. Only the writer goroutine
// writes and removes; the handler reads.
type disk interface {
	// prepare makes sure the directory exists.
	prepare() error
	// write stores data as the file of record id, whole or not at all.
	write(id string, data []byte) error
	// read returns the file of record id.
	read(id string) ([]byte, error)
	// remove deletes the file of record id.
	remove(id string) error
	// list returns the records' files, by id, with their sizes; it
	// removes what a write cut short left behind.
	list() ([]file, error)
}

// file is one record's file.
type file struct {
	id   string
	size int64
}

// idPattern is the form of a record's id: the nanosecond it was written,
// then a sequence number, so that ids sort in the order of writing.
var idPattern = regexp.MustCompile(`^[0-9]{20}-[0-9]{6}$`)

// tempPrefix starts the name of a file being written: renamed to its
// record's name once whole.
const tempPrefix = ".tmp-"

// dirDisk is a disk in a directory of the file system.
type dirDisk struct{ dir string }

func (d dirDisk) path(id string) string { return filepath.Join(d.dir, id+".json") }

func (d dirDisk) prepare() error { return os.MkdirAll(d.dir, 0o700) }

func (d dirDisk) write(id string, data []byte) error {
	tmp := filepath.Join(d.dir, tempPrefix+id)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, d.path(id))
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func (d dirDisk) read(id string) ([]byte, error) { return os.ReadFile(d.path(id)) }

func (d dirDisk) remove(id string) error {
	err := os.Remove(d.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d dirDisk) list() ([]file, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var files []file
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			_ = os.Remove(filepath.Join(d.dir, name))
			continue
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !idPattern.MatchString(id) || !e.Type().IsRegular() {
			continue // not ours: left alone
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{id: id, size: info.Size()})
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.id, b.id) })
	return files, nil
}
