package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Defaults of the sign-in lifetimes.
const (
	// DefaultTokenTTL is how long a start-up sign-in link stays valid.
	DefaultTokenTTL = time.Hour
	// DefaultSessionTTL is how long a session lasts after sign-in.
	DefaultSessionTTL = 12 * time.Hour
	// maxSessions bounds the sessions held; the oldest goes first.
	maxSessions = 256
	// cookieName is the session cookie.
	cookieName = "imagerec_session"
	// csrfHeader carries the session's CSRF token on state-changing calls.
	csrfHeader = "X-CSRF-Token"
)

// session is one signed-in browser.
type session struct {
	id      string
	csrf    string
	created time.Time
	expires time.Time
	user    string
}

// sessions holds the signed-in sessions and the unused start-up tokens,
// by the SHA-256 of their secret (a memory dump or a timing probe of the
// map reveals neither).
type sessions struct {
	now        func() time.Time
	tokenTTL   time.Duration
	sessionTTL time.Duration

	mu       sync.Mutex
	byID     map[[32]byte]*session
	tokens   map[[32]byte]time.Time
	lastFail time.Time
}

func newSessions(now func() time.Time, tokenTTL, sessionTTL time.Duration) *sessions {
	return &sessions{now: now, tokenTTL: tokenTTL, sessionTTL: sessionTTL,
		byID: map[[32]byte]*session{}, tokens: map[[32]byte]time.Time{}}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// newToken makes a single-use sign-in token.
func (s *sessions) newToken() string {
	t := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[digest(t)] = s.now().Add(s.tokenTTL)
	return t
}

// redeem uses up a token and reports whether it was valid.
func (s *sessions) redeem(token string) bool {
	if token == "" {
		return false
	}
	d := digest(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[d]
	delete(s.tokens, d)
	return ok && s.now().Before(exp)
}

// create starts a session for user.
func (s *sessions) create(user string) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), created: now, expires: now.Add(s.sessionTTL), user: user}
	s.mu.Lock()
	defer s.mu.Unlock()
	for d, o := range s.byID {
		if !now.Before(o.expires) {
			delete(s.byID, d)
		}
	}
	if len(s.byID) >= maxSessions {
		var oldest [32]byte
		first := true
		for d, o := range s.byID {
			if first || o.created.Before(s.byID[oldest].created) {
				oldest, first = d, false
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[digest(ss.id)] = ss
	return ss
}

// get returns the live session of a request's cookie.
func (s *sessions) get(r *http.Request) (*session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	d := digest(c.Value)
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[d]
	if !ok {
		return nil, false
	}
	if !s.now().Before(ss.expires) {
		delete(s.byID, d)
		return nil, false
	}
	return ss, true
}

// end signs a session out.
func (s *sessions) end(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, digest(ss.id))
}

// failed records a failed sign-in and returns how long to wait before
// answering: failures are answered at most one a second, so guessing a
// secret through the form is slow.
func (s *sessions) failed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	next := s.lastFail.Add(time.Second)
	if next.Before(now) {
		next = now
	}
	s.lastFail = next
	return next.Sub(now) + 250*time.Millisecond
}

// checkCSRF reports whether the request carries the session's token.
func (ss *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}
