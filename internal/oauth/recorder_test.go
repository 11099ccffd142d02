package oauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
)

// readLikeTheLibrary reads a body as golang.org/x/oauth2 does: up to its
// limit, then Close.
func readLikeTheLibrary(t *testing.T, body io.ReadCloser) {
	t.Helper()
	_, _ = io.ReadAll(io.LimitReader(body, maxBodySize))
	if err := body.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestRecorderTellsACutBodyFromAFullOne(t *testing.T) {
	for _, tt := range []struct {
		size int
		want bool
	}{
		{0, false},
		{maxBodySize - 1, false},
		{maxBodySize, false},
		{maxBodySize + 1, true},
		{3 * maxBodySize, true},
	} {
		rec := &recorder{next: answerTransport{status: 200, header: http.Header{}, body: bytes.Repeat([]byte("a"), tt.size)}}
		resp, err := rec.RoundTrip(must(http.NewRequest(http.MethodPost, "https://auth.example.invalid/token", nil)))
		if err != nil {
			t.Fatal(err)
		}
		readLikeTheLibrary(t, resp.Body)
		if rec.truncated != tt.want || rec.readErr != nil || rec.status != 200 {
			t.Errorf("%d bytes: truncated %v, readErr %v, status %d; want truncated %v", tt.size, rec.truncated, rec.readErr, rec.status, tt.want)
		}
	}
}

// failingBody gives some bytes, then an error.
type failingBody struct{ sent bool }

var errReset = errors.New("connection reset by peer")

func (b *failingBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errReset
	}
	b.sent = true
	return copy(p, `{"access_tok`), nil
}
func (*failingBody) Close() error { return nil }

type bodyTransport struct{ body io.ReadCloser }

func (b bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: b.body, Request: req}, nil
}

func TestRecorderKeepsTheReadError(t *testing.T) {
	rec := &recorder{next: bodyTransport{body: &failingBody{}}}
	resp, err := rec.RoundTrip(must(http.NewRequest(http.MethodPost, "https://auth.example.invalid/token", nil)))
	if err != nil {
		t.Fatal(err)
	}
	readLikeTheLibrary(t, resp.Body)
	if !errors.Is(rec.readErr, errReset) || rec.truncated {
		t.Errorf("readErr %v, truncated %v; want the reset and not truncated", rec.readErr, rec.truncated)
	}
}

// headerTransport keeps the headers it was sent.
type headerTransport struct{ got *http.Header }

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	*h.got = req.Header.Clone()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(nil)), Request: req}, nil
}

func TestRecorderAddsHeadersToACopy(t *testing.T) {
	var got http.Header
	rec := &recorder{next: headerTransport{got: &got}, userAgent: "vantage-credential-operator/test"}
	req := must(http.NewRequest(http.MethodPost, "https://auth.example.invalid/token", nil))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := rec.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got.Get("Accept") != "application/json" || got.Get("User-Agent") != "vantage-credential-operator/test" ||
		got.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("sent headers %v", got)
	}
	if req.Header.Get("Accept") != "" || req.Header.Get("User-Agent") != "" {
		t.Errorf("the caller's request was changed: %v", req.Header)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
