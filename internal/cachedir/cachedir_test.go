package cachedir

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == Env {
				return v
			}
			return ""
		}
	}
	if got, err := Root(env("/srv/cache")); err != nil || got != "/srv/cache" {
		t.Errorf("Root with %s set = %q, %v", Env, got, err)
	}
	got, err := userRoot(func() (string, error) { return "/home/u/.cache", nil })
	if want := filepath.Join("/home/u/.cache", "imagerec"); err != nil || got != want {
		t.Errorf("userRoot = %q, %v, want %q", got, err, want)
	}
	if _, err := userRoot(func() (string, error) { return "", errors.New("$HOME is not defined") }); !errors.Is(err, ErrNoCacheDir) {
		t.Errorf("userRoot without a user cache dir: err = %v, want ErrNoCacheDir", err)
	}
}
