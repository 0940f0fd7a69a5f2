// Package cli is kadnode's command line: the daemon, its control API and the
// client commands that talk to it.
package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	return runApp(args, os.Stdout, os.Stderr)
}

// runApp is Main with its output streams injected for tests.
func runApp(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(intersperse(app, args))
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "kadnode: %v\n", err)
	return exitStatus(err)
}

func newApp(stdout, stderr io.Writer) *ucli.App {
	app := &ucli.App{
		Name:      "kadnode",
		Usage:     "a Kademlia DHT node that authenticates every peer with DTLS",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*ucli.Command{
			runCommand(),
			idCommand(),
			lookupCommand(),
			nodesCommand(),
			pingCommand(),
			addCommand(),
			putCommand(),
			getCommand(),
		},
		HideVersion: true,
		// Errors are printed once, by runApp, with their exit status.
		ExitErrHandler: func(*ucli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *ucli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q; run `kadnode --help` to list the commands", c.Args().First())
			}
			_ = ucli.ShowAppHelp(c)
			return usageErrorf("no command given; run `kadnode run` to start a node")
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
	}
	return app
}

// onUsageError turns urfave's flag parsing errors into bad-usage errors
// (exit 2) that point at the command's help.
func onUsageError(c *ucli.Context, err error, isSubcommand bool) error {
	name := "kadnode"
	if c.Command != nil && c.Command.Name != "" {
		name += " " + c.Command.Name
	}
	return usageErrorf("%v; run `%s --help` for the flags", err, name)
}

// intersperse moves a command's flags in front of its arguments, so that
// `kadnode lookup ID --json` works: Go's flag package stops at the first
// argument that is not a flag.
func intersperse(app *ucli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	cmdAt := -1
	for i := 1; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			cmdAt = i
			break
		}
	}
	if cmdAt < 0 {
		return args
	}
	cmd := app.Command(args[cmdAt])
	if cmd == nil {
		return args
	}
	var flags, positional []string
	rest := args[cmdAt+1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i:]...)
			i = len(rest)
		case len(a) > 1 && strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			if takesValue(cmd, a) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{}, args[:cmdAt+1]...)
	out = append(out, flags...)
	if len(positional) > 0 && positional[0] != "--" {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// takesValue reports whether the flag token arg (e.g. "--api") consumes the
// next token as its value.
func takesValue(cmd *ucli.Command, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			_, isBool := f.(*ucli.BoolFlag)
			return !isBool
		}
	}
	return false // unknown flags and -h/--help
}
