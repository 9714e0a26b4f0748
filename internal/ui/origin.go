package ui

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// hostName returns the lower-case name of a Host header without its port
// and trailing dot, and false when the header is not a host[:port].
func hostName(host string) (string, bool) {
	if host == "" || strings.ContainsAny(host, " /\\@?#\x00") {
		return "", false
	}
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		name = h
	} else if strings.HasPrefix(host, "[") || strings.Count(host, ":") > 0 {
		// "[::1]" without a port, or an unbracketed IPv6 address.
		name = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if net.ParseIP(name) == nil {
			return "", false
		}
	}
	name = strings.ToLower(name)
	if strings.Contains(name, "..") {
		return "", false
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return "", false
	}
	return name, true
}

// isLoopbackName reports whether a host name always means this machine:
// localhost and its subdomains (RFC 6761), 127.0.0.0/8 and ::1.
func isLoopbackName(name string) bool {
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// hostAllowed reports whether a request's Host header names this server:
// a loopback name or the public URL's host.
func hostAllowed(host string, public *url.URL) bool {
	name, ok := hostName(host)
	if !ok {
		return false
	}
	if isLoopbackName(name) {
		return true
	}
	if public == nil {
		return false
	}
	pub, ok := hostName(public.Host)
	return ok && name == pub
}

// loopbackClient reports whether the request comes from this machine.
func loopbackClient(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
