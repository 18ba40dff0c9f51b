// Command whip-receiver is a WHIP endpoint on loopback for
// scripts/bench-compare.sh: it prints its URL, receives until SIGINT or
// SIGTERM, then prints what it received.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/glassagent/glassagent/publish/whip/whiptest"
)

func main() {
	e := whiptest.Start(func(err error) { fmt.Fprintln(os.Stderr, "whip-receiver:", err) })
	fmt.Println(e.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	frames, keys, opus, _ := e.Snapshot()
	e.Close()
	fmt.Fprintf(os.Stderr, "whip-receiver: %d video frames (%d keyframes), %d Opus packets\n", frames, keys, opus)
}
