package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Alertmanager posts alerts to Prometheus Alertmanager's API v2
// (POST /api/v2/alerts). Like Prometheus, it re-sends firing alerts on
// every run with endsAt a few intervals ahead of the wall clock, so an
// evaluator that dies lets them time out; resolved alerts are sent once
// with endsAt set to when they resolved (event time).
type Alertmanager struct {
	URLs        []string
	BearerToken string
	Client      *http.Client
	// Resend is how long a firing alert stays valid without a re-send.
	Resend time.Duration
	// Now is the wall clock (injectable for tests).
	Now func() time.Time
}

func (a *Alertmanager) Name() string { return "alertmanager" }

// amAlert is the API v2 postable alert.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func labelKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(l) {
		b.WriteString(k + "=" + l[k] + "\x00")
	}
	return b.String()
}

func (a *Alertmanager) Notify(ctx context.Context, changes, firing []Alert) error {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	resend := a.Resend
	if resend <= 0 {
		resend = 5 * time.Minute
	}
	var out []amAlert
	current := map[string]bool{}
	for _, f := range firing {
		current[labelKey(f.Labels)] = true
		out = append(out, amAlert{Labels: f.Labels, Annotations: f.Annotations, StartsAt: f.StartsAt.UTC().Format(time.RFC3339),
			EndsAt: now().Add(resend).UTC().Format(time.RFC3339), GeneratorURL: f.Annotations["dashboard"]})
	}
	sent := map[string]bool{}
	for i := len(changes) - 1; i >= 0; i-- { // the latest change of each alert
		c := changes[i]
		k := labelKey(c.Labels)
		if c.Status != "resolved" || current[k] || sent[k] {
			continue
		}
		sent[k] = true
		out = append(out, amAlert{Labels: c.Labels, Annotations: c.Annotations, StartsAt: c.StartsAt.UTC().Format(time.RFC3339),
			EndsAt: c.EndsAt.UTC().Format(time.RFC3339), GeneratorURL: c.Annotations["dashboard"]})
	}
	if len(out) == 0 {
		return nil
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	var errs []string
	for _, u := range a.URLs {
		h := http.Header{"Content-Type": {"application/json"}}
		if a.BearerToken != "" {
			h.Set("Authorization", "Bearer "+a.BearerToken)
		}
		if err := post(ctx, a.Client, strings.TrimRight(u, "/")+"/api/v2/alerts", h, body, 3); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == len(a.URLs) && len(errs) > 0 { // one Alertmanager of an HA pair is enough
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Webhook posts each change (fired, resolved) as one JSON document.
//
// Signature: with a Secret, every request carries
//
//	X-Trunkscope-Timestamp: <unix seconds>
//	X-Trunkscope-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The receiver recomputes the HMAC over the raw body with the shared
// secret and compares in constant time (VerifySignature); the timestamp
// inside the signed text lets it refuse replays older than a few minutes.
type Webhook struct {
	URL     string
	Secret  string
	Retries int
	Client  *http.Client
	Now     func() time.Time
}

func (w *Webhook) Name() string { return "webhook " + w.URL }

// WebhookPayload is the body of a webhook request.
type WebhookPayload struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	Alert
}

func (w *Webhook) Notify(ctx context.Context, changes, _ []Alert) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	var errs []string
	for _, c := range changes {
		body, err := json.Marshal(WebhookPayload{Version: "1", Source: "trunkscope", Alert: c})
		if err != nil {
			return err
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if w.Secret != "" {
			ts := strconv.FormatInt(now().Unix(), 10)
			h.Set("X-Trunkscope-Timestamp", ts)
			h.Set("X-Trunkscope-Signature", "sha256="+Sign(w.Secret, ts, body))
		}
		retries := w.Retries
		if retries <= 0 {
			retries = 5
		}
		// One undeliverable change does not hold back the others.
		if err := post(ctx, w.Client, w.URL, h, body, retries); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d changes not delivered: %s", len(errs), len(changes), strings.Join(errs, "; "))
	}
	return nil
}

// Sign is the webhook signature: hex HMAC-SHA256 of "timestamp.body".
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a webhook request's headers against its body.
func VerifySignature(secret string, h http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	ts, sig := h.Get("X-Trunkscope-Timestamp"), strings.TrimPrefix(h.Get("X-Trunkscope-Signature"), "sha256=")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad or missing X-Trunkscope-Timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("timestamp %s is %s away from now", ts, d)
	}
	want, err := hex.DecodeString(Sign(secret, ts, body))
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// post sends body, retrying network errors, 429 and 5xx with exponential
// backoff (250 ms, doubling); other statuses fail at once.
func post(ctx context.Context, c *http.Client, url string, h http.Header, body []byte, attempts int) error {
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	backoff := 250 * time.Millisecond
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = h.Clone()
		resp, err := c.Do(req)
		if err != nil {
			last = fmt.Errorf("POST %s: %w", url, err)
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			return nil
		case resp.StatusCode == 429 || resp.StatusCode >= 500:
			last = fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
		default:
			return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
		}
	}
	return last
}
