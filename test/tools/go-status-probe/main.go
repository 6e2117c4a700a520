// Calls the etcd v3.4 Go client's per-endpoint Status (the call that sends
// ":authority: http://host:port", etcd issue #13192), a Put/Get and HashKV against one
// endpoint; with a CA file as the second argument, over TLS. Not run by CI (no Go there);
// issue 11's proof with the Go client. Build with Debian's golang-etcd-server-dev:
//
//	mkdir -p /tmp/gp/src && cp -r test/tools/go-status-probe /tmp/gp/src/
//	GO111MODULE=off GOPATH=/tmp/gp:/usr/share/gocode go build -o /tmp/status-probe /tmp/gp/src/go-status-probe
//	/tmp/status-probe http://127.0.0.1:2379
//	/tmp/status-probe https://127.0.0.1:2379 ca.pem
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/ioutil"
	"os"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	ep := os.Args[1]
	cfg := clientv3.Config{Endpoints: []string{ep}, DialTimeout: 3 * time.Second}
	if len(os.Args) > 2 {
		ca, _ := ioutil.ReadFile(os.Args[2])
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		cfg.TLS = &tls.Config{RootCAs: pool}
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Status(ctx, ep)
	if err != nil {
		fmt.Println("status:", err)
		os.Exit(1)
	}
	fmt.Printf("status ok: version %s revision %d\n", st.Version, st.Header.Revision)
	if _, err := c.Put(ctx, "go-client", "v"); err != nil {
		fmt.Println("put:", err)
		os.Exit(1)
	}
	r, err := c.Get(ctx, "go-client")
	if err != nil {
		fmt.Println("get:", err)
		os.Exit(1)
	}
	fmt.Printf("get ok: %s\n", r.Kvs[0].Value)
	if _, err := c.HashKV(ctx, ep, 0); err != nil {
		fmt.Println("hashkv:", err)
	} else {
		fmt.Println("hashkv ok")
	}
}
