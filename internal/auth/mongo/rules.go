package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"wharf/internal/auth/authz"
)

// NewACL loads the collection's rules (acl_mongo) and returns the ACL,
// reloaded every ttl until Close. log may be nil.
func NewACL(ctx context.Context, c *Client, collection string, ttl time.Duration, log *slog.Logger) (*authz.Stored, error) {
	coll := c.collection(collection)
	return authz.NewStored(ctx, func(ctx context.Context) ([]authz.Rule, error) { return loadRules(ctx, coll) },
		authz.StoredOptions{Name: "acl_mongo", TTL: ttl, Timeout: c.timeout, Log: log})
}

// loadRules reads every document of coll and returns the rules in seq
// order.
func loadRules(ctx context.Context, coll *mongodriver.Collection) ([]authz.Rule, error) {
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("reading collection %s: %w", coll.Name(), err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var entries []authz.Entry
	for cur.Next(ctx) {
		if len(entries) >= authz.MaxEntries {
			return nil, fmt.Errorf("collection %s holds more than %d rules", coll.Name(), authz.MaxEntries)
		}
		e, err := entry(cur.Current)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("reading collection %s: %w", coll.Name(), err)
	}
	rules, err := authz.ParseEntries(entries)
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", coll.Name(), err)
	}
	return rules, nil
}

// entry converts one document: _id names it, seq orders it, the rest is
// the rule.
func entry(doc bson.Raw) (authz.Entry, error) {
	e := authz.Entry{Source: "(a document without _id)", Fields: map[string]any{}}
	elems, err := doc.Elements()
	if err != nil {
		return e, fmt.Errorf("a malformed document: %w", err)
	}
	if id, ok := doc.Lookup("_id").ObjectIDOK(); ok {
		e.Source = "_id " + id.Hex()
	} else if v := doc.Lookup("_id"); v.Type != 0 {
		e.Source = "_id " + v.String()
	}
	for _, el := range elems {
		key, val := el.Key(), el.Value()
		switch key {
		case "_id":
			continue
		case "seq":
			v, err := value(val, 0)
			if err != nil {
				return e, fmt.Errorf("rule %s: seq: %w", e.Source, err)
			}
			seq, ok := seqOf(v)
			if !ok {
				return e, fmt.Errorf("rule %s: seq is %s, not a whole number", e.Source, val.String())
			}
			e.Seq = &seq
			continue
		}
		if _, dup := e.Fields[key]; dup {
			return e, fmt.Errorf("rule %s: %s: repeated", e.Source, key)
		}
		v, err := value(val, 0)
		if err != nil {
			return e, fmt.Errorf("rule %s: %s: %w", e.Source, key, err)
		}
		e.Fields[key] = v
	}
	return e, nil
}

const maxDepth = 8

// value converts a BSON value to the plain values authz.Entry holds.
func value(v bson.RawValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested too deeply to be a rule")
	}
	switch v.Type {
	case bson.TypeNull, bson.TypeUndefined:
		return nil, nil
	case bson.TypeString:
		return v.StringValue(), nil
	case bson.TypeBoolean:
		return v.Boolean(), nil
	case bson.TypeInt32:
		return v.Int32(), nil
	case bson.TypeInt64:
		return v.Int64(), nil
	case bson.TypeDouble:
		return v.Double(), nil
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(vals))
		for _, x := range vals {
			c, err := value(x, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(elems))
		for _, el := range elems {
			if _, dup := out[el.Key()]; dup {
				return nil, fmt.Errorf("%s: repeated", el.Key())
			}
			c, err := value(el.Value(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", el.Key(), err)
			}
			out[el.Key()] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s has no place in a rule", v.Type)
}

// seqOf converts a stored seq (any whole number: drivers and shells store
// int32, int64 or a double) to int64; ok is false for anything else.
func seqOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}
