package ocidir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// mkdir creates dir with mode 0755 (whatever the umask) unless it exists.
func mkdir(dir string) error {
	err := os.Mkdir(dir, dirMode)
	if errors.Is(err, fs.ErrExist) {
		fi, serr := os.Stat(dir)
		if serr != nil {
			return serr
		}
		if !fi.IsDir() {
			return fmt.Errorf("%q exists and is not a directory", dir)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// createTemp creates an empty temp file at the top of the layout.
func (d *Dir) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(d.path, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a temp file in OCI image layout %q: %w", d.path, err)
	}
	return f, nil
}

// writeTemp writes data to a new temp file, durably, and returns its name.
func (d *Dir) writeTemp(data []byte) (string, error) {
	f, err := d.createTemp()
	if err != nil {
		return "", err
	}
	name := f.Name()
	err = finishFile(f, func() error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing %q: %w", name, err)
	}
	return name, nil
}

// finishFile runs write, then makes f 0644, flushes it to disk and closes it.
func finishFile(f *os.File, write func() error) error {
	err := write()
	if err == nil {
		err = f.Chmod(fileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceFile atomically replaces the layout's top-level file name with data.
func (d *Dir) replaceFile(name string, data []byte) error {
	tmp, err := d.writeTemp(data)
	if err != nil {
		return err
	}
	dst := filepath.Join(d.path, name)
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	if err := syncDir(d.path); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	return nil
}

// createFile atomically creates the layout's top-level file name with data
// unless it already exists: a hard link never replaces its target, so a
// concurrent writer's file wins over ours.
func (d *Dir) createFile(name string, data []byte) error {
	tmp, err := d.writeTemp(data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	dst := filepath.Join(d.path, name)
	err = os.Link(tmp, dst)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		// No hard links on this filesystem: fall back to a rename, which
		// can replace a file created in the meantime.
		if _, serr := os.Lstat(dst); serr == nil {
			return nil
		}
		if err := os.Rename(tmp, dst); err != nil {
			return fmt.Errorf("writing %q: %w", dst, err)
		}
	}
	if err := syncDir(d.path); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	return nil
}

// syncDir flushes a directory's entries (a rename, a new file) to disk.
// Windows cannot open a directory for syncing, and a few filesystems refuse
// to sync one; there it is skipped.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
