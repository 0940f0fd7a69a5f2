package cli

import (
	"io"
	"log/slog"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// newLogger builds the slog logger from --log-level and --log-format.
func newLogger(c *ucli.Context, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, usageErrorf("--log-level %q is not a level; use debug, info, warn or error", c.String("log-level"))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.String("log-format")) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usageErrorf("--log-format %q is not a format; use text or json", c.String("log-format"))
	}
}
