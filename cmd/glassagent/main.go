// Command glassagent streams what smart glasses see and hear.
//
//	glassagent stream URL   publish camera and mic to URL in the foreground
//	glassagent demo         synthetic camera and mic -> encoders -> SRT -> an embedded receiver
//	glassagent run          the daemon behind the local API
//	glassagent ctl          the local API from the shell
//	glassagent version      version, commit, compiled-in encoders
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks a command-line mistake: exit code 2, as flag does.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `glassagent streams what the glasses see and hear.

Usage:
  glassagent stream URL [flags]   publish to srt://, rtmp://, rtmps:// or https:// (WHIP)
  glassagent demo [flags]         run the whole pipeline into an embedded SRT receiver
  glassagent run [flags]          the daemon: stream manager behind the local API socket
  glassagent ctl COMMAND          talk to the daemon (start, stop, status, watch, keepalive, bitrate)
  glassagent probe                list cameras, microphones, speakers, encoders
  glassagent audio IN.wav OUT.wav run the microphone front-end offline (--ns, --aec REF.wav, --rate, --channels)
  glassagent version              print version and compiled-in encoders

Run "glassagent COMMAND -h" for a command's flags.
`

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "stream":
		err = runStream(ctx, args[1:], stdout, stderr)
	case "run":
		err = runDaemon(ctx, args[1:], stdout, stderr)
	case "ctl":
		err = runCtl(ctx, args[1:], stdin, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], stdout, stderr)
	case "probe":
		err = runProbe(args[1:], stdout)
	case "audio":
		err = runAudio(ctx, args[1:], stdout, stderr)
	case "version":
		err = runVersion(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "glassagent: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "glassagent %s: %v\n", args[0], err)
		return 1
	}
}
