package health

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// HTTP passes when a GET of URL answers with a 2xx or 3xx status. A
// redirect is not followed: the program answered, which is what is probed.
type HTTP struct {
	URL string
}

var _ Check = HTTP{}

// client probes without the agent's proxy settings (a health URL is the
// program's own, on this host) and without keep-alive, so that no
// connection, and no goroutine reading it, stays open between probes.
var client = &http.Client{
	Transport: &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{}).DialContext,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (c HTTP) String() string { return "http GET " + c.URL }

// Check sends one GET and reads at most a line of the body of a failed
// answer, for the message.
func (c HTTP) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "ocp-agent-health")
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			return bareNetError(ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := "status " + resp.Status
	if line := firstLine(body); line != "" {
		msg += ": " + line
	}
	return fmt.Errorf("%s", msg)
}

// firstLine returns the first non-blank line of b, trimmed and cut to 200
// bytes of valid UTF-8, so that an error stays one readable line.
func firstLine(b []byte) string {
	for _, l := range bytes.Split(b, []byte("\n")) {
		s := strings.TrimSpace(string(l))
		if s == "" {
			continue
		}
		if len(s) > 200 {
			s = s[:200]
			for !utf8.ValidString(s) {
				s = s[:len(s)-1]
			}
			s += "..."
		}
		return strings.ToValidUTF8(s, "?")
	}
	return ""
}
