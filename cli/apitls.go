package cli

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"

	ucli "github.com/urfave/cli/v2"
)

// Optional TLS for the control API, so that a token sent to an API on
// another machine does not cross the network in clear. The daemon serves
// --api-tls-cert with --api-tls-key; a client given the same certificate
// file speaks HTTPS and trusts that certificate (self-signed, or a CA's).

// serverTLS loads the daemon's certificate; nil when TLS is off.
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usageErrorf("--api-tls-cert and --api-tls-key go together; give both, or neither for plain HTTP")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usageErrorf("cannot load the control API's TLS certificate (--api-tls-cert %s, --api-tls-key %s): %v",
			certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// clientTLS is a client's TLS configuration from --api-tls-cert; nil
// when it is not set (plain HTTP).
func clientTLS(c *ucli.Context) (*tls.Config, error) {
	file := c.String("api-tls-cert")
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, usageErrorf("cannot read --api-tls-cert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--api-tls-cert %s holds no PEM certificate; give the file the node serves with --api-tls-cert", file)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// checkAPIAuth reads and checks the daemon's token and TLS flags.
func checkAPIAuth(c *ucli.Context, d *daemonConfig) error {
	var err error
	if d.apiToken, err = apiToken(c); err != nil {
		return err
	}
	if err = checkTokenStrength(d.apiToken); err != nil {
		return err
	}
	if d.apiTLS, err = serverTLS(c.String("api-tls-cert"), c.String("api-tls-key")); err != nil {
		return err
	}
	if d.api == "" {
		return nil
	}
	return checkAPIBind(d.api, d.apiToken)
}

// listenAPI binds the control API, with TLS when configured; an API
// reachable from other machines without TLS is worth a warning.
func listenAPI(cfg daemonConfig) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.api)
	if err != nil {
		return nil, listenError("control API", "--api", cfg.api, err)
	}
	if cfg.apiTLS != nil {
		return tls.NewListener(ln, cfg.apiTLS), nil
	}
	if !isLoopbackHost(apiHost(cfg.api)) {
		cfg.log.Warn("the control API is reachable from other machines over plain HTTP, so its token crosses the network in clear; "+
			"give --api-tls-cert and --api-tls-key", "api", cfg.api)
	}
	return ln, nil
}

// apiHost is the host part of an --api address.
func apiHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return host
}
