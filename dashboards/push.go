package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
)

// Pusher upserts a bundle through Grafana's HTTP API with a service
// account token (Authorization: Bearer):
//
//   - the folder: GET /api/folders/{uid}, and POST /api/folders when it
//     does not exist;
//   - each dashboard: POST /api/dashboards/db with folderUid,
//     overwrite: true and a version message;
//   - each alert rule: PUT /api/v1/provisioning/alert-rules/{uid}, and
//     POST /api/v1/provisioning/alert-rules when Grafana answers 404;
//   - the rule group: PUT /api/v1/provisioning/folder/{uid}/rule-groups/{group}
//     (its interval; Grafana 10+ also replaces the group's rules with
//     these, so rules removed from the configuration disappear).
type Pusher struct {
	URL, Token string
	Client     *http.Client
	// Message is the dashboards' version message.
	Message string
	// Progress, when set, hears one line per request.
	Progress func(string)
}

func (p *Pusher) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(p.URL, "/")+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := p.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if p.Progress != nil {
		p.Progress(fmt.Sprintf("%s %s: %s", method, path, resp.Status))
	}
	return resp.StatusCode, out, nil
}

func apiErr(method, path string, code int, body []byte) error {
	return fmt.Errorf("%s %s: HTTP %d: %s", method, path, code, strings.TrimSpace(string(body)))
}

// Push upserts the folder, the dashboards and the alert rule group.
func (p *Pusher) Push(ctx context.Context, b *Bundle) error {
	path := "/api/folders/" + url.PathEscape(FolderUID)
	code, body, err := p.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	switch code {
	case http.StatusOK:
	case http.StatusNotFound:
		code, body, err = p.do(ctx, http.MethodPost, "/api/folders", map[string]string{"uid": FolderUID, "title": FolderTitle})
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return apiErr("POST", "/api/folders", code, body)
		}
	default:
		return apiErr("GET", path, code, body)
	}
	msg := p.Message
	if msg == "" {
		msg = "trunkscope dashboards generate"
	}
	for _, d := range b.Dashboards {
		var model map[string]any
		if err := json.Unmarshal(d.JSON, &model); err != nil {
			return fmt.Errorf("dashboard %s: %w", d.UID, err)
		}
		model["id"] = nil // matched by uid; overwrite replaces
		code, body, err := p.do(ctx, http.MethodPost, "/api/dashboards/db", map[string]any{
			"dashboard": model, "folderUid": FolderUID, "overwrite": true, "message": msg,
		})
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return apiErr("POST", "/api/dashboards/db", code, body)
		}
	}
	// Each rule: update, or create when Grafana does not have it. Then the
	// group's interval (on Grafana 10 and later the group PUT also carries
	// the rules; on 9.x it sets the interval only, hence the per-rule
	// upserts).
	for _, r := range b.Rules {
		uid := ""
		if r.Uid != nil {
			uid = *r.Uid
		}
		path := "/api/v1/provisioning/alert-rules/" + url.PathEscape(uid)
		code, body, err := p.do(ctx, http.MethodPut, path, r)
		if err != nil {
			return err
		}
		if code == http.StatusNotFound {
			path = "/api/v1/provisioning/alert-rules"
			if code, body, err = p.do(ctx, http.MethodPost, path, r); err != nil {
				return err
			}
		}
		if code != http.StatusOK && code != http.StatusCreated {
			return apiErr("PUT/POST", path, code, body)
		}
	}
	iv := b.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	group := alerting.RuleGroup{Title: ptr(RuleGroup), FolderUid: ptr(FolderUID), Interval: ptr(alerting.Duration(secs(iv))), Rules: b.Rules}
	path = "/api/v1/provisioning/folder/" + url.PathEscape(FolderUID) + "/rule-groups/" + url.PathEscape(RuleGroup)
	code, body, err = p.do(ctx, http.MethodPut, path, group)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return apiErr("PUT", path, code, body)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
