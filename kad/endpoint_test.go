package kad

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad/kadtest"
)

const hexID = "00112233445566778899aabbccddeeff01234567"

func TestParseEndpoint(t *testing.T) {
	id, err := ParseID(hexID)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want Endpoint
	}{
		{hexID + "@192.0.2.1:4114", Endpoint{ID: id, HasID: true, Host: "192.0.2.1", Port: 4114}},
		{strings.ToUpper(hexID) + "@192.0.2.1:4114", Endpoint{ID: id, HasID: true, Host: "192.0.2.1", Port: 4114}},
		{"192.0.2.1:4114", Endpoint{Host: "192.0.2.1", Port: 4114}},
		{"[2001:db8::1]:1", Endpoint{Host: "2001:db8::1", Port: 1}},
		{hexID + "@[2001:db8::1]:65535", Endpoint{ID: id, HasID: true, Host: "2001:db8::1", Port: 65535}},
		{"[fe80::1%eth0]:4114", Endpoint{Host: "fe80::1%eth0", Port: 4114}},
		{"seed.example.org:4114", Endpoint{Host: "seed.example.org", Port: 4114}},
		{"seed.example.org.:4114", Endpoint{Host: "seed.example.org.", Port: 4114}},
		{"localhost:4114", Endpoint{Host: "localhost", Port: 4114}},
		{"my_host-1:4114", Endpoint{Host: "my_host-1", Port: 4114}},
		{"  192.0.2.1:4114\n", Endpoint{Host: "192.0.2.1", Port: 4114}},
	}
	for _, c := range cases {
		got, err := ParseEndpoint(c.in)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseEndpoint(%q) = %+v, want %+v", c.in, got, c.want)
		}
		back, err := ParseEndpoint(got.String())
		if err != nil || back != got {
			t.Errorf("String %q does not parse back to %+v: %+v, %v", got.String(), got, back, err)
		}
	}
}

func TestParseEndpointErrors(t *testing.T) {
	cases := map[string]string{
		"":                                 "it is empty",
		"   ":                              "it is empty",
		"192.0.2.1":                        "it has no port",
		"seed.example.org":                 "it has no port",
		"[2001:db8::1]":                    "it has no port",
		"2001:db8::1:4114":                 "an IPv6 address needs brackets, as in [2001:db8::1]:4114",
		"192.0.2.1:0":                      `port "0" is not a number from 1 to 65535`,
		"192.0.2.1:65536":                  `port "65536" is not a number from 1 to 65535`,
		"192.0.2.1:http":                   `port "http" is not a number`,
		"192.0.2.1:":                       `port "" is not a number`,
		":4114":                            "the host is empty",
		"abc@192.0.2.1:4114":               "the node ID before '@' has 3 characters, not 40",
		"@192.0.2.1:4114":                  "the node ID before '@' has 0 characters, not 40",
		strings.Repeat("z", 40) + "@h:1":   "the node ID before '@' is not hexadecimal",
		"[192.0.2.1]:4114":                 `"192.0.2.1" in brackets is not an IPv6 address`,
		"[::ffff:192.0.2.1]:4114":          `"::ffff:192.0.2.1" in brackets is not an IPv6 address`,
		"1.2.3.256:4114":                   `"1.2.3.256" is not a valid IPv4 address`,
		"exa mple.org:4114":                `host name "exa mple.org" has the character ' '`,
		hexID + "@" + hexID + "@h:4114":    `has the character '@'`,
		"a..b:4114":                        `host name "a..b" has an empty or over-long (>63) label`,
		strings.Repeat("a", 64) + ".org:1": "has an empty or over-long (>63) label",
		strings.Repeat("a.", 127) + "ab:1": "host name is 256 characters, over the DNS limit of 253",
		"192.0.2.1:4114:1":                 `is not host:port`,
	}
	for in, want := range cases {
		_, err := ParseEndpoint(in)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) accepted it, want %q", in, want)
			continue
		}
		msg := err.Error()
		prefix := "bad contact " + strconv.Quote(in) + ": "
		if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) {
			t.Errorf("ParseEndpoint(%q) error\n  %s\nwant %q and %q", in, msg, prefix, want)
		}
		// Every error shows the accepted forms with a usable example.
		if !strings.Contains(msg, "want ID@host:port or host:port, e.g. ") {
			t.Errorf("ParseEndpoint(%q) error %q lacks the expected forms", in, msg)
			continue
		}
		example := strings.Fields(strings.SplitAfter(msg, "e.g. ")[1])[0]
		if _, err := ParseEndpoint(strings.TrimSuffix(example, ",")); err != nil {
			t.Errorf("the example in the error does not parse: %v", err)
		}
	}
}

func TestParseID(t *testing.T) {
	id, err := ParseID(strings.ToUpper(hexID))
	if err != nil || id.String() != hexID {
		t.Fatalf("ParseID(upper case) = %v, %v", id, err)
	}
	for in, want := range map[string]string{
		"":                      "has 0 characters, not 40",
		hexID[:39]:              "has 39 characters, not 40",
		hexID + "0":             "has 41 characters, not 40",
		"g" + hexID[1:]:         "is not hexadecimal",
		"0x" + hexID[2:]:        "is not hexadecimal",
		strings.Repeat("é", 20): "is not hexadecimal", // 40 bytes, 20 runes
	} {
		_, err := ParseID(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "want 40 hex digits, e.g. ") {
			t.Errorf("ParseID(%q) = %v, want an error with %q and the expected form", in, err, want)
		}
	}
}

func TestEndpointString(t *testing.T) {
	id := kadtest.ID(0xab)
	for _, addr := range []string{"192.0.2.1:4114", "[2001:db8::1]:4114", "[::ffff:192.0.2.1]:4114"} {
		ap := netip.MustParseAddrPort(addr)
		s := EndpointString(id, ap)
		c, err := ParseEndpoint(s)
		if err != nil {
			t.Fatalf("EndpointString(%v) = %q, which does not parse: %v", ap, s, err)
		}
		got, err := c.Resolve(context.Background())
		if err != nil || !c.HasID || c.ID != id || got != netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) {
			t.Fatalf("%q parsed to %+v resolving to %v, %v", s, c, got, err)
		}
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		c    Endpoint
		want string
	}{
		{Endpoint{Host: "192.0.2.1", Port: 4114}, "192.0.2.1:4114"},
		{Endpoint{Host: "2001:db8::1", Port: 4114}, "[2001:db8::1]:4114"},
		{Endpoint{Host: "::ffff:192.0.2.1", Port: 4114}, "192.0.2.1:4114"},
		// From /etc/hosts, no DNS traffic; IPv4 is preferred.
		{Endpoint{Host: "localhost", Port: 4114}, "127.0.0.1:4114"},
	}
	for _, c := range cases {
		got, err := c.c.Resolve(ctx)
		if err != nil || got.String() != c.want {
			t.Errorf("Resolve(%+v) = %v, %v; want %s", c.c, got, err, c.want)
		}
	}
}

func TestEndpointOfFormatsLikeEndpointString(t *testing.T) {
	id := krpc.RandomNodeID()
	for _, s := range []string{"192.0.2.1:4114", "[2001:db8::1]:4114", "[::ffff:192.0.2.1]:4114"} {
		addr := netip.MustParseAddrPort(s)
		c := EndpointOf(id, addr)
		if !c.HasID || c.ID != id {
			t.Fatalf("EndpointOf(%s) = %+v: lost the ID", s, c)
		}
		if got, want := c.String(), EndpointString(id, addr); got != want {
			t.Fatalf("EndpointOf(%s).String() = %q, EndpointString gives %q", s, got, want)
		}
		back, err := c.Resolve(context.Background())
		if err != nil || back != UnmapAddrPort(addr) {
			t.Fatalf("EndpointOf(%s).Resolve() = %v, %v", s, back, err)
		}
	}
}
