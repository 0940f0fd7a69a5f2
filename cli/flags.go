package cli

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
)

// envTwin is the environment variable that sets flag name: KADNODE_<FLAG>.
func envTwin(name string) []string {
	return []string{envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

func stringFlag(name, value, usage string) *ucli.StringFlag {
	return &ucli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: envTwin(name)}
}

func intFlag(name string, value int, usage string) *ucli.IntFlag {
	return &ucli.IntFlag{Name: name, Value: value, Usage: usage, EnvVars: envTwin(name)}
}

func durationFlag(name string, value time.Duration, usage string) *ucli.DurationFlag {
	return &ucli.DurationFlag{Name: name, Value: value, Usage: usage, EnvVars: envTwin(name)}
}

func listenFlag() ucli.Flag {
	return stringFlag("listen", defaultListen, "UDP `ADDR` to listen on (host:port)")
}

func dataDirFlag() ucli.Flag {
	return stringFlag("data-dir", defaultDataDir(), "`DIR` holding the node key and the routing table")
}

// seedFlag is repeatable; its env twin takes a comma-separated list.
func seedFlag(usage string) ucli.Flag {
	return &ucli.StringSliceFlag{Name: "seed", Usage: usage, EnvVars: envTwin("seed")}
}

func networkFlag() ucli.Flag {
	return stringFlag("network", defaultNetwork, "network `NAME`; nodes of other networks are refused")
}

func apiFlag(usage string) ucli.Flag {
	return stringFlag("api", defaultAPI, usage)
}

func apiTokenFlag() ucli.Flag {
	return stringFlag("api-token", "", "bearer `TOKEN` for the control API, at least 16 bytes (required when --api is not loopback); "+
		"prefer --api-token-file, which keeps it out of ps")
}

func apiTokenFileFlag() ucli.Flag {
	return stringFlag("api-token-file", "", "read the control API's bearer token from `FILE`")
}

func apiTLSCertFlag(usage string) ucli.Flag {
	return stringFlag("api-tls-cert", "", usage)
}

// apiAuthFlags are how a client reaches a control API that has a token
// and TLS.
func apiAuthFlags() []ucli.Flag {
	return []ucli.Flag{
		apiTokenFlag(),
		apiTokenFileFlag(),
		apiTLSCertFlag("use HTTPS and trust the control API's certificate in PEM `FILE` (its --api-tls-cert)"),
	}
}

func jsonFlag() ucli.Flag {
	return &ucli.BoolFlag{Name: "json", Usage: "print JSON", EnvVars: envTwin("json")}
}

func timeoutFlag() ucli.Flag {
	return durationFlag("timeout", clientTimeout, "give up after `DURATION`")
}

func logFlags(level string) []ucli.Flag {
	return []ucli.Flag{
		stringFlag("log-level", level, "log `LEVEL`: debug, info, warn or error"),
		stringFlag("log-format", "text", "log `FORMAT`: text or json"),
	}
}

// standaloneFlags are the flags of a client command that can also run as
// a short-lived read-only node; its logs are quiet unless asked for.
func standaloneFlags() []ucli.Flag {
	flags := append(apiAuthFlags(), networkFlag(), jsonFlag(), timeoutFlag())
	return append(flags, logFlags("warn")...)
}

// defaultDataDir is $XDG_DATA_HOME/kadnode, else ~/.local/share/kadnode;
// empty when neither can be found (run then asks for --data-dir).
func defaultDataDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, dataDirName)
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".local", "share", dataDirName)
}

// dataDir returns the --data-dir value or a usage error when it is unset.
func dataDir(c *ucli.Context) (string, error) {
	d := c.String("data-dir")
	if d == "" {
		return "", usageErrorf("no data dir: $HOME and $XDG_DATA_HOME are unset; pass --data-dir DIR")
	}
	return d, nil
}

// noArgs rejects stray arguments of a command that takes none.
func noArgs(c *ucli.Context) error {
	if c.Args().Present() {
		return usageErrorf("`kadnode %s` takes no arguments, got %q; run `kadnode %s --help`",
			c.Command.Name, c.Args().Slice(), c.Command.Name)
	}
	return nil
}

// oneArg returns the single argument of a command or a usage error.
func oneArg(c *ucli.Context, what string) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usageErrorf("`kadnode %s` needs a %s; run `kadnode %s --help`", c.Command.Name, what, c.Command.Name)
	default:
		return "", usageErrorf("`kadnode %s` takes one %s, got %d arguments %q", c.Command.Name, what, c.NArg(), c.Args().Slice())
	}
}

// positive checks an integer flag that must be at least 1.
func positive(c *ucli.Context, name string) (int, error) {
	v := c.Int(name)
	if v < 1 {
		return 0, usageErrorf("--%s must be at least 1, got %d", name, v)
	}
	return v, nil
}

// positiveDuration checks a duration flag that must be above zero.
func positiveDuration(c *ucli.Context, name string) (time.Duration, error) {
	d := c.Duration(name)
	if d <= 0 {
		return 0, usageErrorf("--%s must be positive, got %v", name, d)
	}
	return d, nil
}
