// Package atomicfile replaces files so that a reader, or a process killed
// halfway, sees the old content or the new, never a part: the data goes to a
// uniquely named temporary file beside the target (so two writers never
// share one), which is then renamed over it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data (mode 0644), creating its directory.
func Write(path string, data []byte) error { return write(path, data, false) }

// WriteDurable is Write with the data synced to disk before the rename,
// for files that must survive a crash, not only a killed process.
func WriteDurable(path string, data []byte) error { return write(path, data, true) }

func write(path string, data []byte, durable bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
