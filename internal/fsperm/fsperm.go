package fsperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes for the data directory's contents.
const (
	File fs.FileMode = 0o600
	Dir  fs.FileMode = 0o700
)

// private is the permission bits only the owner may have.
const private fs.FileMode = 0o700

// Tighten removes the group and other permission bits from root and, when
// it is a directory, everything under it (symbolic links are left alone,
// and not followed; os.Root keeps every change inside root). A missing
// root is not an error. It returns how many entries it changed.
func Tighten(root string) (int, error) {
	fi, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return 0, nil
	case !fi.IsDir():
		if perm := fi.Mode().Perm(); perm&^private != 0 {
			if err := os.Chmod(root, perm&private); err != nil {
				return 0, err
			}
			return 1, nil
		}
		return 0, nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", root, err)
	}
	defer r.Close()
	changed := 0
	err = fs.WalkDir(r.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		perm := info.Mode().Perm()
		if perm&^private == 0 {
			return nil
		}
		if err := r.Chmod(path, perm&private); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("chmod %s: %w", filepath.Join(root, path), err)
		}
		changed++
		return nil
	})
	return changed, err
}
