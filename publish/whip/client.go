package whip

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/glassagent/glassagent/media"
)

// maxAnswer bounds the SDP answer we read.
const maxAnswer = 256 << 10

// session is the server's side of one publish, as WHIP names it.
type session struct {
	location string // the session URL, for PATCH and DELETE
	etag     string // for If-Match on trickle PATCHes; empty: no trickle
	answer   string
}

// httpClient is the WHIP signalling client: TLS verified against the system
// roots plus an optional CA file, 307/308 followed by net/http (which
// re-sends the body and keeps the Authorization header on the same host).
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, media.Errorf(media.CodeInvalidConfig, "CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, media.Errorf(media.CodeInvalidConfig, "CA file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

func (p *Publisher) newRequest(ctx context.Context, method, u string, body []byte, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, media.Errorf(media.CodeInvalidURL, "WHIP request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	return req, nil
}

// options asks the endpoint for its ICE servers before the offer (RFC 9725
// section 4.6 allows them in an OPTIONS response). Many servers answer 404
// or 405; that only means no hints.
func (p *Publisher) options(ctx context.Context) []string {
	req, err := p.newRequest(ctx, http.MethodOptions, p.url, nil, "")
	if err != nil {
		return nil
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil
	}
	return resp.Header.Values("Link")
}

// post sends the offer and reads the answer.
func (p *Publisher) post(ctx context.Context, offer string) (*session, []string, error) {
	req, err := p.newRequest(ctx, http.MethodPost, p.url, []byte(offer), "application/sdp")
	if err != nil {
		return nil, nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, nil, media.Errorf(media.CodeTimeout, "WHIP endpoint %s did not answer the offer in time", p.shown)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, and URLs may hold tokens
		}
		return nil, nil, media.Errorf(media.CodeConnectFailed, "WHIP POST to %s: %v", p.shown, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, media.Errorf(media.CodeConnectFailed, "WHIP answer from %s: %v", p.shown, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, nil, media.Errorf(media.CodeAuthFailed, "WHIP endpoint %s refused the token: HTTP %d", p.shown, resp.StatusCode)
	case resp.StatusCode != http.StatusCreated:
		return nil, nil, media.Errorf(media.CodeConnectFailed, "WHIP endpoint %s answered HTTP %d, want 201 Created", p.shown, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		return nil, nil, media.Errorf(media.CodeConnectFailed, "invalid SDP answer from %s: content type %q", p.shown, ct)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, nil, media.Errorf(media.CodeConnectFailed, "WHIP endpoint %s gave no Location for the session", p.shown)
	}
	// Location is relative to the URL that answered, after redirects.
	base := resp.Request.URL
	lu, err := base.Parse(loc)
	if err != nil {
		return nil, nil, media.Errorf(media.CodeConnectFailed, "WHIP endpoint %s gave a malformed Location", p.shown)
	}
	return &session{location: lu.String(), etag: resp.Header.Get("ETag"), answer: string(body)}, resp.Header.Values("Link"), nil
}

// patch trickles ICE candidates (RFC 8840 SDP fragment) to the session.
func (p *Publisher) patch(ctx context.Context, s *session, frag string) error {
	req, err := p.newRequest(ctx, http.MethodPatch, s.location, []byte(frag), "application/trickle-ice-sdpfrag")
	if err != nil {
		return err
	}
	req.Header.Set("If-Match", s.etag)
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("trickle PATCH: HTTP %d", resp.StatusCode)
	}
	if e := resp.Header.Get("ETag"); e != "" {
		s.etag = e
	}
	return nil
}

// remove ends the session on the server (DELETE), best effort, bounded.
func (p *Publisher) remove(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := p.newRequest(ctx, http.MethodDelete, s.location, nil, "")
	if err != nil {
		return
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// validateURL checks a WHIP endpoint URL.
func validateURL(u *url.URL) error {
	if u.Scheme != "https" && u.Scheme != "http" {
		return media.Errorf(media.CodeInvalidURL, "WHIP URL: scheme must be https (or http for local tests)")
	}
	if u.Host == "" {
		return media.Errorf(media.CodeInvalidURL, "WHIP URL: no host")
	}
	if u.User != nil {
		return media.Errorf(media.CodeInvalidURL, "WHIP URL: user info is not supported (configure a bearer token)")
	}
	return nil
}
