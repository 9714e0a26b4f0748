package cachedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env is the environment variable that names the cache root.
const Env = "IMAGEREC_CACHE"

// ErrNoCacheDir is returned by Root when Env is unset and the user has no
// cache directory.
var ErrNoCacheDir = errors.New("no cache directory (set " + Env + ")")

// Root is $IMAGEREC_CACHE, else <user cache dir>/imagerec
// (~/.cache/imagerec on Linux). getenv is os.Getenv in commands; tests
// pass their own.
func Root(getenv func(string) string) (string, error) {
	if d := getenv(Env); d != "" {
		return d, nil
	}
	return userRoot(os.UserCacheDir)
}

func userRoot(userCacheDir func() (string, error)) (string, error) {
	d, err := userCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoCacheDir, err)
	}
	return filepath.Join(d, "imagerec"), nil
}
