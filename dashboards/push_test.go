package dashboards

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// grafanaRecorder is a recording HTTP server that answers like Grafana and
// checks each request against Grafana's documented HTTP API:
//   - folders: GET /api/folders/:uid (404 when missing), POST /api/folders
//     {uid, title};
//   - dashboards: POST /api/dashboards/db {dashboard{uid,title,...}, folderUid,
//     overwrite, message} → {id, uid, url, status, version};
//   - alert rules: PUT /api/v1/provisioning/alert-rules/:uid (404 when
//     missing), POST /api/v1/provisioning/alert-rules (201);
//   - rule groups: PUT /api/v1/provisioning/folder/:folderUid/rule-groups/:group
//     with an AlertRuleGroup {title, folderUid, interval (seconds), rules[]}.
//
// Every request must carry Authorization: Bearer <token>; bodies must be
// JSON with Content-Type application/json.
type grafanaRecorder struct {
	t       *testing.T
	token   string
	mu      sync.Mutex
	calls   []string
	folders map[string]bool
	dashes  map[string]map[string]any
	groups  map[string]map[string]any
	rules   map[string]map[string]any
}

// checkRule checks a ProvisionedAlertRule body: the required fields of
// Grafana's model, and folder/group when given.
func checkRule(t *testing.T, rule map[string]any, folder, group string) {
	t.Helper()
	str := func(k string) string { s, _ := rule[k].(string); return s }
	for _, k := range []string{"uid", "title", "condition", "for", "folderUID", "ruleGroup", "noDataState", "execErrState"} {
		if str(k) == "" {
			t.Errorf("rule %v: %s missing", rule["title"], k)
		}
	}
	if _, ok := rule["orgID"].(float64); !ok {
		t.Errorf("rule %v: orgID missing", rule["title"])
	}
	if folder != "" && (str("folderUID") != folder || str("ruleGroup") != group) {
		t.Errorf("rule %v in folder %v group %v", rule["title"], rule["folderUID"], rule["ruleGroup"])
	}
	data, _ := rule["data"].([]any)
	if len(data) != 2 {
		t.Errorf("rule %v: %d queries", rule["title"], len(data))
	}
	for _, q := range data {
		qm := q.(map[string]any)
		if s, _ := qm["refId"].(string); s == "" || qm["datasourceUid"] == nil || qm["model"] == nil {
			t.Errorf("rule %v query %v", rule["title"], qm)
		}
	}
}

func (g *grafanaRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.t
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Unauthorized"}`)
		return
	}
	var body map[string]any
	if r.Method != http.MethodGet {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/folders/"):
		uid := strings.TrimPrefix(r.URL.Path, "/api/folders/")
		if !g.folders[uid] {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"folder not found","status":"not-found"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"uid": uid, "title": uid})
	case r.Method == http.MethodPost && r.URL.Path == "/api/folders":
		if str(body, "uid") == "" || str(body, "title") == "" {
			t.Errorf("POST /api/folders: %v", body)
		}
		g.folders[str(body, "uid")] = true
		json.NewEncoder(w).Encode(map[string]any{"uid": body["uid"], "title": body["title"], "id": len(g.folders)})
	case r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db":
		d, _ := body["dashboard"].(map[string]any)
		if d == nil || str(d, "uid") == "" || str(d, "title") == "" || d["panels"] == nil {
			t.Errorf("POST /api/dashboards/db: dashboard %v", d)
		}
		if id, set := d["id"]; !set || id != nil {
			t.Errorf("dashboard %s: id %v, want null (matched by uid)", str(d, "uid"), id)
		}
		if body["overwrite"] != true || str(body, "message") == "" || !g.folders[str(body, "folderUid")] {
			t.Errorf("POST /api/dashboards/db: overwrite %v message %v folderUid %v (folders %v)", body["overwrite"], body["message"], body["folderUid"], g.folders)
		}
		g.dashes[str(d, "uid")] = body
		json.NewEncoder(w).Encode(map[string]any{"id": len(g.dashes), "uid": d["uid"], "url": "/d/" + str(d, "uid"), "status": "success", "version": 1})
	case (r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/provisioning/alert-rules/")) ||
		(r.Method == http.MethodPost && r.URL.Path == "/api/v1/provisioning/alert-rules"):
		checkRule(t, body, "", "")
		uid := str(body, "uid")
		if r.Method == http.MethodPut {
			if strings.TrimPrefix(r.URL.Path, "/api/v1/provisioning/alert-rules/") != uid {
				t.Errorf("PUT %s with rule uid %s", r.URL.Path, uid)
			}
			if g.rules[uid] == nil {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"message":"rule not found"}`)
				return
			}
		} else if g.rules[uid] != nil {
			w.WriteHeader(http.StatusConflict)
			return
		} else {
			w.WriteHeader(http.StatusCreated)
		}
		g.rules[uid] = body
		json.NewEncoder(w).Encode(body)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/provisioning/folder/"):
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/provisioning/folder/"), "/")
		if len(parts) != 3 || parts[1] != "rule-groups" || !g.folders[parts[0]] {
			t.Errorf("PUT %s: not a rule-group path of an existing folder", r.URL.Path)
		}
		if str(body, "title") != parts[2] || str(body, "folderUid") != parts[0] {
			t.Errorf("rule group body title %v folderUid %v, path %v", body["title"], body["folderUid"], parts)
		}
		if iv, ok := body["interval"].(float64); !ok || iv < 10 {
			t.Errorf("rule group interval %v: want seconds", body["interval"])
		}
		rules, _ := body["rules"].([]any)
		for _, x := range rules {
			checkRule(t, x.(map[string]any), parts[0], parts[2])
		}
		g.groups[parts[0]+"/"+parts[2]] = body
		json.NewEncoder(w).Encode(body)
	default:
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestPushToRecordingGrafana(t *testing.T) {
	rec := &grafanaRecorder{t: t, token: "glsa_test", folders: map[string]bool{}, dashes: map[string]map[string]any{},
		groups: map[string]map[string]any{}, rules: map[string]map[string]any{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	b := generate(t)
	p := &Pusher{URL: srv.URL, Token: "glsa_test", Message: "test push"}
	if err := p.Push(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(rec.dashes) != 6 || len(rec.groups) != 1 || len(rec.rules) != 6 {
		t.Fatalf("%d dashboards, %d rule groups, %d rules", len(rec.dashes), len(rec.groups), len(rec.rules))
	}
	if rules := rec.groups["trunkscope/trunkscope"]["rules"].([]any); len(rules) != len(b.Rules) || len(rules) != 6 {
		t.Fatalf("%d rules pushed", len(rules))
	}
	first := strings.Join(rec.calls, "\n")
	if !strings.HasPrefix(first, "GET /api/folders/trunkscope\nPOST /api/folders\nPOST /api/dashboards/db") {
		t.Fatalf("calls:\n%s", first)
	}
	// A second push finds the folder and overwrites.
	rec.calls = nil
	if err := p.Push(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// Folder found; dashboards overwritten; rules updated in place (no POST).
	if strings.Contains(strings.Join(rec.calls, "\n"), "POST /api/folders\n") ||
		strings.Contains(strings.Join(rec.calls, "\n"), "POST /api/v1/provisioning/alert-rules") || len(rec.calls) != 1+6+6+1 {
		t.Fatalf("second push calls:\n%s", strings.Join(rec.calls, "\n"))
	}
	// A wrong token is an error that says what Grafana said.
	bad := &Pusher{URL: srv.URL, Token: "wrong"}
	if err := bad.Push(context.Background(), b); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}
