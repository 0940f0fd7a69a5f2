package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"

	"github.com/anacrolix/dht/v2/krpc"
	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/wire"
)

func putCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "put",
		Usage:     "store a value in the DHT (BEP 44), through a running node (--api) or on its own (--seed)",
		ArgsUsage: "VALUE|-",
		Description: "Stores VALUE (or standard input, for -) as a bencoded string on the k nodes\n" +
			"closest to its target, and prints the target and how many nodes stored it.\n" +
			"Without --key-file the item is immutable: its target is the SHA-1 of the value.\n" +
			"With --key-file F it is a mutable item signed by the Ed25519 key in F (created\n" +
			"with mode 0600 if absent), at the target of the key and --salt; --seq defaults\n" +
			"to one more than the newest seq found. A running node republishes what it put;\n" +
			"a put with --seed is not republished and expires after 2 hours.",
		Flags: append([]ucli.Flag{
			apiFlag("control API `ADDR` of the node that puts"),
			&ucli.StringSliceFlag{Name: "seed", Usage: "put on our own, starting from `CONTACT`; repeatable"},
			&ucli.StringFlag{Name: "key-file", Usage: "sign a mutable item with the Ed25519 key in `FILE`"},
			&ucli.StringFlag{Name: "salt", Usage: "mutable item's `SALT` (at most 64 bytes)"},
			&ucli.Int64Flag{Name: "seq", Usage: "mutable item's sequence number `N` (default: newest found + 1)"},
			&ucli.Int64Flag{Name: "cas", Usage: "store only where the stored seq is `N` (BEP 44 compare-and-swap)"},
		}, standaloneFlags()...),
		Action: runPut,
	}
}

func getCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "get",
		Usage:     "read a value from the DHT (BEP 44), through a running node (--api) or on its own (--seed)",
		ArgsUsage: "TARGET",
		Description: "TARGET is the 40 hex digits `kadnode put` printed. A mutable item needs the\n" +
			"--salt it was put with. Prints the value; --json prints target, value, seq,\n" +
			"key, sig, holders and the lookup's stats. Exits 1 when the item is not found.",
		Flags: append([]ucli.Flag{
			apiFlag("control API `ADDR` of the node to ask"),
			&ucli.StringSliceFlag{Name: "seed", Usage: "get on our own, starting from `CONTACT`; repeatable"},
			&ucli.StringFlag{Name: "salt", Usage: "mutable item's `SALT`"},
		}, standaloneFlags()...),
		Action: runGet,
	}
}

// valueClient runs get and put through the control API or a standalone
// node, whichever the command asked for.
type valueClient struct {
	c      *ucli.Context
	ctx    context.Context // the command's --timeout
	cancel context.CancelFunc
	stand  *standalone
}

// newValueClient opens the client a value command asked for, bounded by
// the command's --timeout; close releases both.
func newValueClient(c *ucli.Context) (*valueClient, error) {
	seeds, err := parseSeeds(c.StringSlice("seed"))
	if err != nil {
		return nil, err
	}
	ctx, cancel, err := commandContext(c)
	if err != nil {
		return nil, err
	}
	v := &valueClient{c: c, ctx: ctx, cancel: cancel}
	if len(seeds) > 0 {
		if v.stand, err = startStandalone(c, seeds); err != nil {
			cancel()
			return nil, err
		}
		if err := v.stand.bootstrap(ctx, seeds); err != nil {
			v.close()
			return nil, err
		}
	}
	return v, nil
}

func (v *valueClient) close() {
	if v.stand != nil {
		_ = v.stand.close()
	}
	v.cancel()
}

func (v *valueClient) get(target krpc.ID, salt []byte) (itemJSON, error) {
	if v.stand != nil {
		res, err := v.stand.node.GetItem(v.ctx, target, salt)
		if err != nil && res.Item == nil {
			return itemJSON{}, rpcFailure("get", target.String(), err)
		}
		return toItemJSON(res), nil
	}
	var out itemJSON
	err := callAPIWith(v.ctx, v.c, "GET", "/api/get", url.Values{"target": {target.String()}, "salt": {hex.EncodeToString(salt)}}, &out)
	return out, err
}

func (v *valueClient) put(it kad.Item, cas int64) (putJSON, error) {
	if v.stand != nil {
		res, err := v.stand.node.PutItem(v.ctx, it, cas)
		out := toPutJSON(res)
		out.Seq = it.Seq
		if err != nil {
			return out, rpcFailure("put", res.Target.String(), err)
		}
		return out, nil
	}
	var out putJSON
	err := callAPIWith(v.ctx, v.c, "POST", "/api/put", itemQuery(it, cas), &out)
	return out, err
}

func runPut(c *ucli.Context) error {
	arg, err := oneArg(c, "value (or - for standard input)")
	if err != nil {
		return err
	}
	value := []byte(arg)
	if arg == "-" {
		if value, err = io.ReadAll(io.LimitReader(os.Stdin, kad.MaxValueSize+1)); err != nil {
			return fmt.Errorf("reading the value from standard input: %w", err)
		}
	}
	v := bencodeString(value)
	if len(v) > kad.MaxValueSize {
		return usageErrorf("the value is %d bytes bencoded, over BEP 44's %d; store a smaller value (or a pointer to it)", len(v), kad.MaxValueSize)
	}
	salt := []byte(c.String("salt"))
	if len(salt) > kad.MaxSaltSize {
		return usageErrorf("--salt is %d bytes, over BEP 44's %d", len(salt), kad.MaxSaltSize)
	}
	var key ed25519.PrivateKey
	if f := c.String("key-file"); f != "" {
		if key, err = wire.LoadOrCreateKey(f); err != nil {
			return err
		}
	} else if c.IsSet("salt") || c.IsSet("seq") || c.IsSet("cas") {
		return usageErrorf("--salt, --seq and --cas are for mutable items: give --key-file too")
	}
	vc, err := newValueClient(c)
	if err != nil {
		return err
	}
	defer vc.close()

	var it kad.Item
	if key == nil {
		it, err = kad.ImmutableItem(v)
	} else {
		seq := c.Int64("seq")
		if !c.IsSet("seq") {
			cur, err := vc.get(mutableTarget(key, salt), salt)
			if err != nil {
				return err
			}
			if cur.Found {
				seq = cur.Seq + 1
			}
		}
		it, err = kad.SignedItem(key, salt, v, seq)
	}
	if err != nil {
		return usageErrorf("%v", err)
	}
	out, err := vc.put(it, c.Int64("cas"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s\nstored on %d of %d nodes\n", out.Target, out.Stored, out.Tried)
	return err
}

func runGet(c *ucli.Context) error {
	arg, err := oneArg(c, "target (40 hex digits)")
	if err != nil {
		return err
	}
	target, err := parseTarget(arg)
	if err != nil {
		return err
	}
	vc, err := newValueClient(c)
	if err != nil {
		return err
	}
	defer vc.close()
	out, err := vc.get(target, []byte(c.String("salt")))
	if err != nil {
		return err
	}
	if !out.Found {
		return fmt.Errorf("no item found at %s (%d queries, %d responses); a mutable item needs its --salt",
			target, out.Stats.Queries, out.Stats.Responses)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	_, err = fmt.Fprintln(c.App.Writer, out.Value)
	return err
}

// mutableTarget is the target of key's items under salt.
func mutableTarget(key ed25519.PrivateKey, salt []byte) krpc.ID {
	it := kad.Item{Salt: salt}
	copy(it.K[:], key.Public().(ed25519.PublicKey))
	return it.Target()
}

// bencodeString bencodes b as a string.
func bencodeString(b []byte) []byte {
	return append(strconv.AppendInt(nil, int64(len(b)), 10), append([]byte{':'}, b...)...)
}

// itemQuery is the control API's form of a signed item to put.
func itemQuery(it kad.Item, cas int64) url.Values {
	q := url.Values{"v": {hex.EncodeToString(it.V)}}
	if it.Mutable() {
		q.Set("k", hex.EncodeToString(it.K[:]))
		q.Set("sig", hex.EncodeToString(it.Sig[:]))
		q.Set("seq", strconv.FormatInt(it.Seq, 10))
		q.Set("salt", hex.EncodeToString(it.Salt))
	}
	if cas != 0 {
		q.Set("cas", strconv.FormatInt(cas, 10))
	}
	return q
}

// valueNode is what the control API's value routes need; *node.Node has it.
type valueNode interface {
	GetItem(ctx context.Context, target krpc.ID, salt []byte) (node.GetResult, error)
	PutItem(ctx context.Context, it kad.Item, cas int64) (node.PutResult, error)
	ValueStats() node.ValueStats
}
