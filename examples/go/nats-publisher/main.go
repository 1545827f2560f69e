// A NATS publisher written with nats.go, to test as your own client:
//
//	halfopen run --target nats --client-cmd examples/go/nats-publisher/nats-publisher \
//	  --strategy 'nats:ping=5s,maxout=1,wait=2s,attempts=-1,lib=go' \
//	  --workload publish:5 --fault partition
//
// The lab tells it where to connect and what to publish through the environment:
//
//	HALFOPEN_URL      nats://host:port of the target (nats-server)
//	HALFOPEN_SUBJECT  the subject to publish on
//	HALFOPEN_RATE     messages a second (0: hold the connection and publish nothing)
//
// It publishes "1", "2", "3", ... and prints "sent <n>" after each message nats.go accepted, so
// that the lab counts exactly what was lost. Its dead-peer detection is nats.go's own ping timer,
// with the options `halfopen tune --target nats --within 10s --emit nats.go` printed (docs/guides/
// own-client.md walks through it). The guide and test/guide-go.test.ts build and run it.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	url := os.Getenv("HALFOPEN_URL")
	subject := os.Getenv("HALFOPEN_SUBJECT")
	rate, err := strconv.ParseFloat(os.Getenv("HALFOPEN_RATE"), 64)
	if url == "" || subject == "" || err != nil {
		fmt.Fprintln(os.Stderr, "needs HALFOPEN_URL, HALFOPEN_SUBJECT and HALFOPEN_RATE (halfopen run sets them)")
		os.Exit(2)
	}

	// What `halfopen tune --target nats --within 10s --emit nats.go` printed, as it printed it:
	// a silent server is noticed 5.00 s - 10.00 s after it goes silent (nats.go: stale on the
	// ping tick that finds 1 unanswered). A negative MaxReconnects reconnects forever.
	opts := []nats.Option{
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(1),
		nats.ReconnectWait(2 * time.Second),
		nats.MaxReconnects(-1),
	}

	// Say when nats.go gives up on a connection and when it is back: these lines land in the
	// lab's timeline (`halfopen show`), and `--detect-log '^disconnected'` can count the first.
	opts = append(opts,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			fmt.Printf("disconnected: %v\n", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			fmt.Printf("reconnected to %s\n", nc.ConnectedUrl())
		}),
	)

	// nats.go reconnects by itself once connected; the first connection is ours to retry.
	nc, err := nats.Connect(url, opts...)
	for err != nil {
		fmt.Printf("connect failed: %v\n", err)
		time.Sleep(250 * time.Millisecond)
		nc, err = nats.Connect(url, opts...)
	}
	defer nc.Close()
	fmt.Printf("connected to %s\n", nc.ConnectedUrl())

	if rate <= 0 {
		select {} // idle: the ping timer alone watches the connection
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for n := 1; ; {
		<-tick.C
		// Publish only buffers the message: nil means nats.go accepted it. While it reconnects
		// it keeps accepting into its reconnect buffer (8 MB by default) and sends those once
		// connected again; what a dead connection swallowed is what the lab counts as lost.
		if err := nc.Publish(subject, []byte(strconv.Itoa(n))); err != nil {
			fmt.Printf("publish %d failed: %v\n", n, err)
			continue // the same number again on the next tick
		}
		// os.Stdout is not buffered in Go: the line reaches the lab at once, and the lab stamps
		// it when it arrives.
		fmt.Printf("sent %d\n", n)
		n++
	}
}
