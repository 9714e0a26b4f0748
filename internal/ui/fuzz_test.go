package ui

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9000", "localhost", "[::1]:1", "evil.example", "imagerec.example.org:443", "[::1", "a:b:c", ""} {
		f.Add(s)
	}
	pub := &url.URL{Scheme: "https", Host: "imagerec.example.org"}
	f.Fuzz(func(t *testing.T, host string) {
		name, ok := hostName(host)
		if !ok {
			if hostAllowed(host, pub) {
				t.Errorf("unparsable %q allowed", host)
			}
			return
		}
		if name != strings.ToLower(name) || strings.HasSuffix(name, ".") || name == "" {
			t.Errorf("hostName(%q) = %q", host, name)
		}
		if hostAllowed(host, pub) && !isLoopbackName(name) && name != "imagerec.example.org" {
			t.Errorf("%q (%q) allowed", host, name)
		}
	})
}

func FuzzUploadKey(f *testing.F) {
	for _, s := range []string{"dog.jpg", "a/b/../c.png", `C:\x\y.jpg`, "_imagerec/pending/x", "\x00", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		key, err := uploadKey(name)
		if err != nil {
			return
		}
		if key == "" || strings.ContainsAny(key, "/\\\x00\n\r") || strings.HasPrefix(key, "_imagerec") || key == "." || key == ".." {
			t.Errorf("uploadKey(%q) = %q", name, key)
		}
	})
}
