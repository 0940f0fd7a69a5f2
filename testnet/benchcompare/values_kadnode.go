package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/kadnode/kadnode/kad"
)

// kadnodeItem is it as kadnode's kad.Item.
func kadnodeItem(it valueItem) (kad.Item, error) {
	if it.mutable() {
		return kad.SignedItem(it.priv, it.salt, it.bencoded(), it.seq)
	}
	return kad.ImmutableItem(it.bencoded())
}

// valueSystem is kadnode's put and get: the node's own PutItem and
// GetItem. Queries are the lookup's queries, plus the puts.
func (kn *kadnodeNet) valueSystem() valueSystem {
	return valueSystem{put: kn.putValue, get: kn.getValue}
}

func (kn *kadnodeNet) putValue(ctx context.Context, from int, it valueItem) valueOutcome {
	item, err := kadnodeItem(it)
	if err != nil {
		return valueOutcome{err: err}
	}
	res, err := kn.member(from).Node().PutItem(ctx, item, 0)
	return valueOutcome{
		ok:      err == nil && res.Stored > 0,
		queries: res.Stats.Queries + res.Tried,
		stored:  res.Stored,
		err:     err,
	}
}

func (kn *kadnodeNet) getValue(ctx context.Context, from int, want valueItem) valueOutcome {
	item, err := kadnodeItem(want)
	if err != nil {
		return valueOutcome{err: err}
	}
	res, err := kn.member(from).Node().GetItem(ctx, item.Target(), want.salt)
	out := valueOutcome{queries: res.Stats.Queries, err: err}
	switch {
	case res.Item == nil:
		if out.err == nil {
			out.err = fmt.Errorf("item %x not found", item.Target())
		}
	case res.Item.Seq != item.Seq || !bytes.Equal(res.Item.V, item.V):
		out.err = fmt.Errorf("item %x: got seq %d, want %d", item.Target(), res.Item.Seq, item.Seq)
	default:
		out.ok = true
	}
	return out
}
