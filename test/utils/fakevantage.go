package utils

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/omnivector-solutions/vantage-credential-operator/internal/oauth/oauthtest"
)

// StartFakeVantage runs the fake-vantage program (hack/fake-vantage) with
// args, its output in dir/fake-vantage.log, and returns once it serves,
// with its base URL. If it does not come up within 10 s, or ctx ends first,
// it is stopped again.
func StartFakeVantage(ctx context.Context, binary, dir string, args ...string) (*Process, string, error) {
	urlFile := filepath.Join(dir, "fake-vantage.url")
	_ = os.Remove(urlFile) // an earlier run's URL says nothing about this one
	p, err := StartProcess(filepath.Join(dir, "fake-vantage.log"), binary, append(args, "--url-file", urlFile)...)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// fake-vantage writes the file whole (rename), so any content is the URL.
		if b, err := os.ReadFile(urlFile); err == nil {
			return p, string(b), nil
		}
		if p.Exited() || time.Now().After(deadline) {
			_ = p.Stop(time.Second)
			return nil, "", fmt.Errorf("the fake Vantage server did not start within 10s; see %s", p.Log)
		}
		select {
		case <-ctx.Done():
			_ = p.Stop(time.Second)
			return nil, "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FakeVantageStats reads the request counts of the fake Vantage server at
// baseURL.
func FakeVantageStats(baseURL string) (oauthtest.Stats, error) {
	var st oauthtest.Stats
	resp, err := http.Get(baseURL + oauthtest.StatsPath)
	if err != nil {
		return st, err
	}
	defer func() { _ = resp.Body.Close() }()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// FreePort returns a loopback port nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ScrapeMetrics returns the samples without labels (go_goroutines,
// process_resident_memory_bytes, ...) of the Prometheus text at url.
func ScrapeMetrics(url string) (map[string]float64, error) {
	all, err := ScrapeSeries(http.DefaultClient, url)
	m := map[string]float64{}
	for series, v := range all {
		if !strings.Contains(series, "{") {
			m[series] = v
		}
	}
	return m, err
}

// ScrapeSeries returns every sample of the Prometheus text at url, fetched
// with hc, keyed by its series: the name, and the labels in braces.
func ScrapeSeries(hc *http.Client, url string) (map[string]float64, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		// Label values may hold spaces; the value follows the braces.
		series, value, ok := strings.Cut(line, "} ")
		if ok {
			series += "}"
		} else {
			series, value, ok = strings.Cut(line, " ")
		}
		if v, err := strconv.ParseFloat(value, 64); ok && err == nil {
			m[series] = v
		}
	}
	return m, sc.Err()
}
