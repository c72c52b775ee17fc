package alert

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The webhook retries 5xx with backoff, signs every attempt, and gives up
// at once on a 4xx.
func TestWebhookRetries(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := []int{503, 502, 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := VerifySignature("k", r.Header, b, time.Now(), time.Minute); err != nil {
			t.Errorf("attempt %d: %v", len(bodies), err)
		}
		bodies = append(bodies, string(b))
		w.WriteHeader(status[min(len(bodies)-1, len(status)-1)])
	}))
	defer srv.Close()
	a := Alert{Status: "firing", Labels: map[string]string{"alertname": "x", "trunk": "t"}, StartsAt: time.Unix(1767603600, 0)}
	w := &Webhook{URL: srv.URL, Secret: "k", Retries: 4}
	if err := w.Notify(context.Background(), []Alert{a}, nil); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 || bodies[0] != bodies[2] {
		t.Fatalf("%d attempts: %q", len(bodies), bodies)
	}
	bodies, status = nil, []int{400}
	if err := w.Notify(context.Background(), []Alert{a}, nil); err == nil || len(bodies) != 1 {
		t.Fatalf("4xx: %v after %d attempts", err, len(bodies))
	}
	bodies, status = nil, []int{500}
	if err := w.Notify(context.Background(), []Alert{a}, nil); err == nil || len(bodies) != 4 {
		t.Fatalf("persistent 5xx: %v after %d attempts", err, len(bodies))
	}
}
