package oauth

import (
	"io"
	"net/http"
)

// maxBodySize is how much of an answer golang.org/x/oauth2 reads; the
// recorder tells an answer cut there from one that ended.
const maxBodySize = 1 << 20

// recorder is the transport of one attempt. It sends the headers the
// library does not (Accept, User-Agent) and keeps what the library's errors
// leave out, so a failure can still say what came back: the status and
// headers of a 2xx the library could not parse, whether the body went on
// past what the library reads, and why reading the body failed (the
// library flattens that error to text). It never reads the body itself
// beyond one byte past the library's limit.
type recorder struct {
	next      http.RoundTripper
	userAgent string

	status    int
	header    http.Header
	readErr   error // why reading the body failed; nil if it did not
	truncated bool  // whether the body went on past maxBodySize
}

// client is hc with the recorder as its transport, for the library to send
// through. Its CheckRedirect (never follow) stays; its Timeout does not:
// the attempt's context already ends at Options.Timeout, and http.Client
// arms a timer of its own for a transport it does not know, such as this
// one, which can fire first and hide that the deadline passed.
func (r *recorder) client(hc *http.Client) *http.Client {
	if r.next == nil {
		r.next = http.DefaultTransport
	}
	return &http.Client{Transport: r, CheckRedirect: hc.CheckRedirect}
}

// RoundTrip sends req with our headers and wraps the answer's body.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change its request
	req.Header.Set("Accept", "application/json")
	if r.userAgent != "" {
		req.Header.Set("User-Agent", r.userAgent)
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.status, r.header = resp.StatusCode, resp.Header
	resp.Body = &recordedBody{ReadCloser: resp.Body, rec: r}
	return resp, nil
}

// recordedBody counts what the library reads and keeps the first read error.
type recordedBody struct {
	io.ReadCloser
	rec *recorder
	n   int64
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.rec.readErr == nil {
		b.rec.readErr = err
	}
	return n, err
}

// Close looks one byte past the library's limit when it read that much:
// more to come means the answer was cut, not that it was short.
func (b *recordedBody) Close() error {
	if b.rec.readErr == nil && b.n >= maxBodySize {
		var one [1]byte
		n, _ := io.ReadFull(b.ReadCloser, one[:])
		b.rec.truncated = n > 0
	}
	return b.ReadCloser.Close()
}
