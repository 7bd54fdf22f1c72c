// Command wharf is a private container registry and its token server in one
// binary. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"wharf/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
