// Command guestbook serves the classic Kubernetes guestbook HTTP API, storing entries in a redis list:
//
//	GET /                          the page: every entry, and a form to add one
//	GET /lrange/guestbook          the entries, as a JSON array
//	GET /rpush/guestbook/{value}   append an entry; answers the entries after it, as a JSON array
//	GET /healthz                   200 when redis answers PING, else 503 (readiness and liveness)
//
// Every answer carries X-Served-By (the pod's hostname), so a client can tell which replica served it.
// Settings: LISTEN (default :3000), REDIS_ADDR (default redis:6379), REDIS_PASSWORD (optional).
// SIGTERM drains: requests in flight finish, idle connections close, then it exits.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const listKey = "guestbook"

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func entries(db *redisConn) ([]string, error) {
	reply, err := db.Do("LRANGE", listKey, "0", "-1")
	if err != nil {
		return nil, err
	}
	items, _ := reply.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func main() {
	db := &redisConn{addr: getenv("REDIS_ADDR", "redis:6379"), password: os.Getenv("REDIS_PASSWORD")}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	served := func(w http.ResponseWriter) { w.Header().Set("X-Served-By", host) }
	fail := func(w http.ResponseWriter, err error) {
		http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
	}
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}

	// listing answers with the entries, as render writes them, or 503 when redis does not answer
	listing := func(w http.ResponseWriter, render func([]string)) {
		list, err := entries(db)
		if err != nil {
			fail(w, err)
			return
		}
		render(list)
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		served(w)
		if _, err := db.Do("PING"); err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /lrange/guestbook", func(w http.ResponseWriter, r *http.Request) {
		served(w)
		listing(w, func(list []string) { writeJSON(w, list) })
	})
	mux.HandleFunc("GET /rpush/guestbook/{value}", func(w http.ResponseWriter, r *http.Request) {
		served(w)
		value := r.PathValue("value")
		if value == "" {
			http.Error(w, "empty entry", http.StatusBadRequest)
			return
		}
		if _, err := db.Do("RPUSH", listKey, value); err != nil {
			fail(w, err)
			return
		}
		listing(w, func(list []string) { writeJSON(w, list) })
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		served(w)
		listing(w, func(list []string) {
			var b strings.Builder
			b.WriteString("<!doctype html><title>Guestbook</title><h1>Guestbook</h1><ul>")
			for _, e := range list {
				b.WriteString("<li>" + html.EscapeString(e) + "</li>")
			}
			b.WriteString(`</ul><form onsubmit="location='/rpush/guestbook/'+encodeURIComponent(this.v.value);return false">` +
				`<input name="v"><button>Sign</button></form><p>served by ` + html.EscapeString(host) + "</p>")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, b.String())
		})
	})

	addr := getenv("LISTEN", ":3000")
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// On SIGTERM, finish the requests in flight and close idle keep-alive connections before exiting, so a rollout
	// or a drain loses no request (the pod's preStop sleep has already taken it out of the Service by then).
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		log.Printf("guestbook: shutting down gracefully")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("guestbook: shutdown: %v", err)
		}
	}()
	log.Printf("guestbook listening on %s, redis at %s", addr, db.addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("guestbook: stopped")
}
