// Command clusterproof-load is clusterproof's embedded load engine: an open-model HTTP load on the vegeta library
// (MIT). It reads a resolved plan as JSON on stdin, sends requests at the planned arrival rate whatever the server
// does, and streams one JSON line per request to stdout as each one ends, then one summary line.
//
// The plan (written by providers/load/vegeta.ts):
//
//	{"baseUrl":"http://198.18.40.70:80","timeoutMs":2000,"keepAlive":true,"maxWorkers":100,"workers":10,
//	 "segments":[{"durationMs":30000,"fromRps":20,"toRps":20}],
//	 "endpoints":[{"name":"read","method":"GET","path":"/lrange/guestbook","weight":3}]}
//
// Per request: {"t":ms since start at the end of the request,"e":endpoint,"m":method,"s":status,"d":latency ms,"err":"..."}
// Last line:   {"done":true,"sent":N,"planned":N,"elapsedMs":N}
// SIGTERM or SIGINT stops the attack early; the summary line is still written.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Version is stamped at build time (-X main.Version=...).
var Version = "dev"

type endpoint struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Weight int    `json:"weight"`
}

type segment struct {
	DurationMs float64 `json:"durationMs"`
	FromRps    float64 `json:"fromRps"`
	ToRps      float64 `json:"toRps"`
}

type plan struct {
	BaseURL    string     `json:"baseUrl"`
	TimeoutMs  int        `json:"timeoutMs"`
	KeepAlive  bool       `json:"keepAlive"`
	Workers    uint64     `json:"workers"`
	MaxWorkers uint64     `json:"maxWorkers"`
	Segments   []segment  `json:"segments"`
	Endpoints  []endpoint `json:"endpoints"`
}

// stagedPacer is k6's ramping-arrival-rate: piecewise linear rates, one segment after the other.
type stagedPacer struct{ segments []segment }

func (p stagedPacer) total() time.Duration {
	var ms float64
	for _, s := range p.segments {
		ms += s.DurationMs
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// hits is the number of requests planned in [0, t): the integral of the rate.
func (p stagedPacer) hits(t time.Duration) float64 {
	left := t.Seconds()
	var n float64
	for _, s := range p.segments {
		d := s.DurationMs / 1000
		x := math.Min(left, d)
		if x <= 0 {
			break
		}
		slope := (s.ToRps - s.FromRps) / d
		n += s.FromRps*x + slope*x*x/2
		left -= d
	}
	return n
}

func (p stagedPacer) Rate(t time.Duration) float64 {
	left := t.Seconds()
	for _, s := range p.segments {
		d := s.DurationMs / 1000
		if left < d {
			return s.FromRps + (s.ToRps-s.FromRps)*left/d
		}
		left -= d
	}
	return 0
}

func (p stagedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if elapsed >= p.total() {
		return 0, true
	}
	expected := p.hits(elapsed)
	if float64(hits) < expected {
		return 0, false // behind: send at once (open model)
	}
	rate := p.Rate(elapsed)
	if rate <= 0 {
		return 10 * time.Millisecond, false // a stage at rate 0: look again shortly
	}
	wait := time.Duration((float64(hits+1) - expected) / rate * float64(time.Second))
	return min(wait, 100*time.Millisecond), false
}

// weightedTargeter picks an endpoint by weight; "{unique}" in a path becomes a value unique to the request.
// The endpoint's name rides in the URL fragment, which an HTTP client never sends, so each result names its endpoint.
func weightedTargeter(base string, eps []endpoint) vegeta.Targeter {
	total := 0
	for _, e := range eps {
		total += e.Weight
	}
	var seq atomic.Uint64
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	return func(t *vegeta.Target) error {
		n := rand.IntN(total)
		for _, e := range eps {
			if n < e.Weight {
				path := strings.ReplaceAll(e.Path, "{unique}", fmt.Sprintf("%s-%d", run, seq.Add(1)))
				t.Method, t.URL = e.Method, base+path+"#"+e.Name
				return nil
			}
			n -= e.Weight
		}
		return fmt.Errorf("no endpoint to pick")
	}
}

type line struct {
	T   float64 `json:"t"`
	E   string  `json:"e"`
	M   string  `json:"m"`
	S   uint16  `json:"s"`
	D   float64 `json:"d"`
	Err string  `json:"err,omitempty"`
}

func main() {
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Printf("clusterproof-load %s\n", Version)
		return
	}
	var p plan
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
		fmt.Fprintf(os.Stderr, "clusterproof-load: cannot read the plan on stdin: %v\n", err)
		os.Exit(2)
	}
	if len(p.Endpoints) == 0 || len(p.Segments) == 0 || p.BaseURL == "" {
		fmt.Fprintln(os.Stderr, "clusterproof-load: the plan needs baseUrl, endpoints and segments")
		os.Exit(2)
	}

	atk := vegeta.NewAttacker(
		vegeta.Timeout(time.Duration(p.TimeoutMs)*time.Millisecond),
		vegeta.KeepAlive(p.KeepAlive),
		vegeta.Workers(max(p.Workers, 1)),
		vegeta.MaxWorkers(max(p.MaxWorkers, 1)),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.HTTP2(false),
	)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; atk.Stop() }()

	pacer := stagedPacer{p.Segments}
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	began := time.Now()
	var sent uint64
	flushed := time.Now()
	for r := range atk.Attack(weightedTargeter(p.BaseURL, p.Endpoints), pacer, pacer.total(), "clusterproof") {
		sent++
		name := ""
		if i := strings.LastIndexByte(r.URL, '#'); i >= 0 {
			name = r.URL[i+1:]
		}
		_ = enc.Encode(line{
			T:   float64(r.End().Sub(began).Microseconds()) / 1000,
			E:   name,
			M:   r.Method,
			S:   r.Code,
			D:   float64(r.Latency.Microseconds()) / 1000,
			Err: r.Error,
		})
		if time.Since(flushed) > 200*time.Millisecond {
			_ = out.Flush()
			flushed = time.Now()
		}
	}
	elapsed := time.Since(began)
	planned := pacer.hits(min(elapsed, pacer.total()))
	_ = enc.Encode(map[string]any{"done": true, "sent": sent, "planned": math.Round(planned), "elapsedMs": elapsed.Milliseconds()})
	_ = out.Flush()
}
