// Command pause is the first process of every pod sandbox on the kind node: it holds the pod's namespaces open,
// reaps the orphans that end up as its children (it is PID 1 in the pod's PID namespace when the pod shares
// one), and exits 0 on SIGINT or SIGTERM. It does nothing else.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped by hack/tools/pause/tool.env.
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-v", "--version", "version":
			fmt.Println("pause", version)
			return
		default:
			fmt.Fprintf(os.Stderr, "usage: %s [-v]\n", os.Args[0])
			os.Exit(2)
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: warning: not running as PID 1")
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: %v, exiting\n", sig)
		os.Exit(0)
	}
}

// reap collects every child that has exited; signals coalesce, so one SIGCHLD may stand for several.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
