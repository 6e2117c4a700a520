// etcd-load: a closed-loop load generator for any etcd v3 server, written with the
// official Go client (clientv3 of etcd 3.4). It is the referee for the project's own
// TypeScript generator: on a small machine a grpc-js generator can become the
// bottleneck, the Go client much less so.
//
// One JSON line on stdout; diagnostics on stderr. Request errors are counted by
// message, never fatal.
//
// Build offline with ../build.sh (GOPATH mode on Debian's golang-etcd-server-dev).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
)

type options struct {
	user         string
	endpoints    []string
	op           string
	consistency  string
	clients      int
	conns        int
	duration     time.Duration
	total        int64
	keySize      int
	valSize      int
	keySpaceSize int
	prefill      bool
	warmup       time.Duration
	timeout      time.Duration
	prefillBatch int
	prefillOnly  bool
	serverPids   []int
	limit        int
}

// parseDuration accepts Go durations ("10s", "1m30s") and bare numbers of seconds ("10", "2.5").
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}
func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func parseFlags() options {
	var o options
	var endpoints string
	o.duration = 10 * time.Second
	o.warmup = time.Second
	o.timeout = 30 * time.Second
	flag.StringVar(&endpoints, "endpoints", "127.0.0.1:2379", "comma-separated host:port (scheme optional)")
	flag.StringVar(&o.op, "op", "put", "put | range | txn-put | kube-create | kube-list | kube-count (kube-apiserver's shapes: create txn on new keys; one page of a list at a fixed revision from a random key; count_only over the key space)")
	flag.IntVar(&o.limit, "limit", 500, "kube-list: keys per page (kube-apiserver pages by 500)")
	flag.StringVar(&o.consistency, "consistency", "l", "range consistency: l (linearizable) or s (serializable)")
	flag.IntVar(&o.clients, "clients", 1, "requests in flight (closed loop)")
	flag.IntVar(&o.conns, "conns", 1, "clientv3.Client instances (gRPC connections); clients spread round-robin")
	flag.Var(durationFlag{&o.duration}, "duration", "measured time (e.g. 10s); ignored with --total")
	flag.Int64Var(&o.total, "total", 0, "number of measured requests (instead of --duration)")
	flag.IntVar(&o.keySize, "key-size", 8, "key size in bytes")
	flag.IntVar(&o.valSize, "val-size", 256, "value size in bytes")
	flag.IntVar(&o.keySpaceSize, "key-space-size", 100000, "number of distinct keys (chosen at random)")
	flag.BoolVar(&o.prefill, "prefill", false, "write every key of the key space first, in batches")
	flag.BoolVar(&o.prefillOnly, "prefill-only", false, "prefill (as --prefill), print {\"prefill_s\":...} and exit")
	flag.IntVar(&o.prefillBatch, "prefill-batch", 100, "puts per transaction when prefilling")
	flag.Var(durationFlag{&o.warmup}, "warmup", "unmeasured load before the measurement")
	flag.Var(durationFlag{&o.timeout}, "timeout", "timeout per request")
	var serverPids string
	flag.StringVar(&o.user, "user", "", "name:password; every connection authenticates (etcd auth) and sends its token (docs/auth.md)")
	flag.StringVar(&serverPids, "server-pid", "", "comma-separated pids whose CPU (utime+stime of all threads, /proc/<pid>/stat) over the measured interval is reported as server_cpu_s")
	flag.Parse()
	for _, p := range strings.Split(serverPids, ",") {
		if p = strings.TrimSpace(p); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 {
				fmt.Fprintln(os.Stderr, "etcd-load: bad --server-pid", p)
				os.Exit(2)
			}
			o.serverPids = append(o.serverPids, n)
		}
	}
	if o.prefillOnly {
		o.prefill = true
	}
	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.endpoints = append(o.endpoints, e)
		}
	}
	bad := func(msg string) {
		fmt.Fprintln(os.Stderr, "etcd-load:", msg)
		os.Exit(2)
	}
	if len(o.endpoints) == 0 {
		bad("--endpoints is empty")
	}
	switch o.op {
	case "put", "range", "txn-put", "kube-create", "kube-list", "kube-count":
	default:
		bad("--op must be put, range, txn-put, kube-create, kube-list or kube-count")
	}
	if o.limit < 1 {
		bad("--limit must be >= 1")
	}
	if o.consistency != "l" && o.consistency != "s" {
		bad("--consistency must be l or s")
	}
	if o.clients < 1 || o.conns < 1 || o.keySpaceSize < 1 || o.keySize < 1 || o.valSize < 0 || o.prefillBatch < 1 {
		bad("--clients, --conns, --key-space-size, --key-size, --prefill-batch must be >= 1")
	}
	if o.total <= 0 && o.duration <= 0 {
		bad("need --duration > 0 or --total > 0")
	}
	return o
}

// keyOf is the key for index i: the decimal index, zero-padded to keySize bytes (the same
// keys as the project's TypeScript generator, so a prefill by either one serves both).
func keyOf(i, keySize int) string {
	s := strconv.Itoa(i)
	if len(s) >= keySize {
		return s
	}
	return strings.Repeat("0", keySize-len(s)) + s
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// procCPUSeconds is utime+stime of a process, all its threads, from /proc/<pid>/stat;
// NaN if it cannot be read.
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return math.NaN()
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return math.NaN()
	}
	// after "pid (comm) ": state is field 3, utime field 14, stime field 15
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return math.NaN()
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return math.NaN()
	}
	return (ut + st) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100.0

func serversCPU(pids []int) float64 {
	var t float64
	for _, p := range pids {
		t += procCPUSeconds(p)
	}
	return t
}

func newClients(o options) ([]*clientv3.Client, error) {
	// clientv3 logs through zap; keep it to errors on stderr.
	lc := zap.NewProductionConfig()
	lc.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	lc.OutputPaths = []string{"stderr"}
	lc.ErrorOutputPaths = []string{"stderr"}
	var cs []*clientv3.Client
	for i := 0; i < o.conns; i++ {
		cfg := clientv3.Config{
			Endpoints:   o.endpoints,
			DialTimeout: 10 * time.Second,
			LogConfig:   &lc,
		}
		if o.user != "" {
			name, password, found := strings.Cut(o.user, ":")
			if !found {
				return nil, fmt.Errorf("--user %q: want name:password", o.user)
			}
			cfg.Username, cfg.Password = name, password
		}
		c, err := clientv3.New(cfg)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, fmt.Errorf("connection %d: %w", i, err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func prefill(o options, c *clientv3.Client, val string) error {
	for start := 0; start < o.keySpaceSize; start += o.prefillBatch {
		end := start + o.prefillBatch
		if end > o.keySpaceSize {
			end = o.keySpaceSize
		}
		ops := make([]clientv3.Op, 0, end-start)
		for k := start; k < end; k++ {
			ops = append(ops, clientv3.OpPut(keyOf(k, o.keySize), val))
		}
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
			_, err = c.Txn(ctx).Then(ops...).Commit()
			cancel()
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("prefill at key %d: %w", start, err)
		}
	}
	return nil
}

// modRevisions reads the mod revision of every key of the key space (one keys-only
// range), for txn-put's compares.
func modRevisions(o options, c *clientv3.Client) ([]int64, error) {
	revs := make([]int64, o.keySpaceSize)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	// every key from the first one on; those not of the key space are skipped
	from := keyOf(0, o.keySize)
	resp, err := c.Get(ctx, from, clientv3.WithFromKey(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	for _, kv := range resp.Kvs {
		i, err := strconv.Atoi(string(kv.Key))
		if err == nil && i >= 0 && i < o.keySpaceSize && keyOf(i, o.keySize) == string(kv.Key) {
			revs[i] = kv.ModRevision
		}
	}
	return revs, nil
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

type workerResult struct {
	lat        []int64 // ns, measured requests only
	errors     map[string]int64
	cmpFailed  int64
	warmupReqs int64
}

type result struct {
	Op              string             `json:"op"`
	Consistency     string             `json:"consistency,omitempty"`
	Clients         int                `json:"clients"`
	Conns           int                `json:"conns"`
	Endpoints       []string           `json:"endpoints"`
	KeySize         int                `json:"key_size"`
	ValSize         int                `json:"val_size"`
	KeySpaceSize    int                `json:"key_space_size"`
	Seconds         float64            `json:"seconds"`
	Requests        int64              `json:"requests"`
	ErrorCount      int64              `json:"error_count"`
	Errors          map[string]int64   `json:"errors"`
	CompareFailures *int64             `json:"compare_failures,omitempty"`
	ReqsPerS        float64            `json:"reqs_per_s"`
	LatencyMs       map[string]float64 `json:"latency_ms"`
	GeneratorCPUS   float64            `json:"generator_cpu_s"`
	GeneratorCPUPct float64            `json:"generator_cpu_pct"`
	WarmupRequests  int64              `json:"warmup_requests"`
	PrefillSeconds  float64            `json:"prefill_s,omitempty"`
	ServerPids      []int              `json:"server_pids,omitempty"`
	ServerCPUS      *float64           `json:"server_cpu_s,omitempty"`
	ServerCPUUsReq  *float64           `json:"server_cpu_us_per_req,omitempty"`
	Client          string             `json:"client"`
}

// percentile of sorted ns latencies, in ms (nearest rank).
func percentile(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]) / 1e6
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func main() {
	o := parseFlags()
	val := strings.Repeat("v", o.valSize)

	conns, err := newClients(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd-load: cannot connect:", err)
		os.Exit(1)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	var prefillS float64
	if o.prefill {
		t0 := time.Now()
		if err := prefill(o, conns[0], val); err != nil {
			fmt.Fprintln(os.Stderr, "etcd-load:", err)
			os.Exit(1)
		}
		prefillS = time.Since(t0).Seconds()
		if o.prefillOnly {
			fmt.Printf("{\"prefill_s\":%.3f,\"keys\":%d}\n", prefillS, o.keySpaceSize)
			return
		}
	}

	var revs []int64
	if o.op == "txn-put" {
		if revs, err = modRevisions(o, conns[0]); err != nil {
			fmt.Fprintln(os.Stderr, "etcd-load: reading mod revisions:", err)
			os.Exit(1)
		}
	}

	// kube-list reads every page at one revision, as the apiserver does within a list.
	var listRev int64
	if o.op == "kube-list" {
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		resp, err := conns[0].Get(ctx, keyOf(0, o.keySize), clientv3.WithCountOnly())
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd-load: reading the list revision:", err)
			os.Exit(1)
		}
		listRev = resp.Header.Revision
	}
	var created int64 // kube-create: new keys so far

	var phase int32 = phaseWarmup
	if o.warmup <= 0 {
		phase = phaseMeasure
	}
	var claimed int64 // measured requests claimed, with --total
	useTotal := o.total > 0

	// one request; returns whether the compare failed (txn-put), or an error.
	do := func(c *clientv3.Client, rng *rand.Rand) (bool, error) {
		k := rng.Intn(o.keySpaceSize)
		key := keyOf(k, o.keySize)
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		switch o.op {
		case "put":
			_, err := c.Put(ctx, key, val)
			return false, err
		case "range":
			var err error
			if o.consistency == "s" {
				_, err = c.Get(ctx, key, clientv3.WithSerializable())
			} else {
				_, err = c.Get(ctx, key)
			}
			return false, err
		case "kube-create":
			// a new object: "c" + a counter, padded to the key size; the txn the apiserver sends
			nk := fmt.Sprintf("c%0*d", o.keySize-1, atomic.AddInt64(&created, 1))
			resp, err := c.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(nk), "=", 0)).
				Then(clientv3.OpPut(nk, val)).
				Commit()
			if err != nil {
				return false, err
			}
			return !resp.Succeeded, nil
		case "kube-list":
			resp, err := c.Get(ctx, key, clientv3.WithRange("\xff"), clientv3.WithLimit(int64(o.limit)), clientv3.WithRev(listRev))
			if err != nil {
				return false, err
			}
			if len(resp.Kvs) == 0 {
				return false, fmt.Errorf("kube-list: empty page from %q", key)
			}
			return false, nil
		case "kube-count":
			_, err := c.Get(ctx, "", clientv3.WithFromKey(), clientv3.WithCountOnly())
			return false, err
		default: // txn-put
			known := atomic.LoadInt64(&revs[k])
			resp, err := c.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(key), "=", known)).
				Then(clientv3.OpPut(key, val)).
				Else(clientv3.OpGet(key)).
				Commit()
			if err != nil {
				return false, err
			}
			if resp.Succeeded {
				atomic.StoreInt64(&revs[k], resp.Header.Revision)
				return false, nil
			}
			var now int64
			if len(resp.Responses) > 0 {
				if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
					now = rr.Kvs[0].ModRevision
				}
			}
			atomic.StoreInt64(&revs[k], now)
			return true, nil
		}
	}

	results := make([]workerResult, o.clients)
	var wg sync.WaitGroup
	seed := time.Now().UnixNano()
	for w := 0; w < o.clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := conns[w%len(conns)]
			rng := rand.New(rand.NewSource(seed + int64(w)*7919))
			r := &results[w]
			r.errors = map[string]int64{}
			for {
				ph := atomic.LoadInt32(&phase)
				if ph == phaseStop {
					return
				}
				measured := ph == phaseMeasure
				if measured && useTotal && atomic.AddInt64(&claimed, 1) > o.total {
					return
				}
				t0 := time.Now()
				cmpFailed, err := do(c, rng)
				lat := time.Since(t0)
				if !measured {
					r.warmupReqs++
					continue
				}
				// with --duration, a request that ends after the stop is not counted
				if !useTotal && atomic.LoadInt32(&phase) == phaseStop {
					return
				}
				if err != nil {
					r.errors[err.Error()]++
					continue
				}
				if cmpFailed {
					r.cmpFailed++
				}
				r.lat = append(r.lat, int64(lat))
			}
		}(w)
	}

	if o.warmup > 0 {
		time.Sleep(o.warmup)
	}
	cpu0 := cpuSeconds()
	srv0 := serversCPU(o.serverPids)
	t0 := time.Now()
	atomic.StoreInt32(&phase, phaseMeasure)
	var elapsed time.Duration
	if useTotal {
		wg.Wait()
		elapsed = time.Since(t0)
	} else {
		time.Sleep(o.duration)
		atomic.StoreInt32(&phase, phaseStop)
		elapsed = time.Since(t0)
	}
	cpu1 := cpuSeconds()
	srv1 := serversCPU(o.serverPids)
	if !useTotal {
		// let in-flight requests finish (they are not counted) so results are stable
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(o.timeout + 5*time.Second):
			fmt.Fprintln(os.Stderr, "etcd-load: some requests still in flight at exit")
		}
	}

	var all []int64
	errs := map[string]int64{}
	var errCount, cmpFailed, warm int64
	for i := range results {
		all = append(all, results[i].lat...)
		for m, n := range results[i].errors {
			errs[m] += n
			errCount += n
		}
		cmpFailed += results[i].cmpFailed
		warm += results[i].warmupReqs
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var sum float64
	for _, l := range all {
		sum += float64(l)
	}
	mean := 0.0
	if len(all) > 0 {
		mean = sum / float64(len(all)) / 1e6
	}
	secs := elapsed.Seconds()
	res := result{
		Op:              o.op,
		Clients:         o.clients,
		Conns:           o.conns,
		Endpoints:       o.endpoints,
		KeySize:         o.keySize,
		ValSize:         o.valSize,
		KeySpaceSize:    o.keySpaceSize,
		Seconds:         round3(secs),
		Requests:        int64(len(all)),
		ErrorCount:      errCount,
		Errors:          errs,
		ReqsPerS:        math.Round(float64(len(all))/secs*10) / 10,
		GeneratorCPUS:   round3(cpu1 - cpu0),
		GeneratorCPUPct: math.Round((cpu1-cpu0)/secs*1000) / 10,
		WarmupRequests:  warm,
		PrefillSeconds:  round3(prefillS),
		Client:          "go clientv3 (etcd 3.4), " + runtime.Version(),
		LatencyMs: map[string]float64{
			"mean":  round3(mean),
			"p50":   round3(percentile(all, 50)),
			"p90":   round3(percentile(all, 90)),
			"p99":   round3(percentile(all, 99)),
			"p99_9": round3(percentile(all, 99.9)),
			"max":   round3(percentile(all, 100)),
		},
	}
	if len(o.serverPids) > 0 && !math.IsNaN(srv1-srv0) {
		res.ServerPids = o.serverPids
		v := round3(srv1 - srv0)
		res.ServerCPUS = &v
		if len(all) > 0 {
			u := math.Round((srv1-srv0)*1e6/float64(len(all))*10) / 10
			res.ServerCPUUsReq = &u
		}
	}
	if o.op == "range" {
		res.Consistency = o.consistency
	}
	if o.op == "txn-put" {
		res.CompareFailures = &cmpFailed
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}
