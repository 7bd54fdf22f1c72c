package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.mongodb.org/mongo-driver/v2/bson"
	mongodriver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// Limits on one user document: more is an error, not memory to spend.
const (
	maxLabels      = 256
	maxLabelValues = 1024
)

// Authenticator checks passwords against a MongoDB collection of users
// (mongo_auth).
type Authenticator struct {
	*authn.Lookup
	coll *mongodriver.Collection
}

var _ authn.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator over the collection; it samples one stored
// hash for the cost of the dummy comparison. log may be nil.
func NewAuthenticator(ctx context.Context, c *Client, collection string, log *slog.Logger) (*Authenticator, error) {
	a := &Authenticator{coll: c.collection(collection)}
	a.Lookup = authn.NewLookup("mongo_auth", a.find, authn.LookupOptions{Log: log})
	var sample struct {
		Password string `bson:"password"`
	}
	err := a.coll.FindOne(ctx, bson.D{{Key: "password", Value: bson.D{{Key: "$type", Value: "string"}}}},
		options.FindOne().SetProjection(bson.D{{Key: "password", Value: 1}})).Decode(&sample)
	switch {
	case err == nil:
		a.NoteHash(sample.Password)
	case !errors.Is(err, mongodriver.ErrNoDocuments):
		return nil, fmt.Errorf("mongo_auth: reading collection %s: %w", collection, err)
	}
	return a, nil
}

// find reads the user's document.
func (a *Authenticator) find(ctx context.Context, user string) (authn.Record, bool, error) {
	cur, err := a.coll.Find(ctx, bson.D{{Key: "username", Value: user}},
		options.Find().SetLimit(2).SetProjection(bson.D{{Key: "password", Value: 1}, {Key: "labels", Value: 1}}))
	if err != nil {
		return authn.Record{}, false, fmt.Errorf("mongo_auth: %w", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var docs []bson.Raw
	for cur.Next(ctx) {
		docs = append(docs, append(bson.Raw(nil), cur.Current...))
	}
	if err := cur.Err(); err != nil {
		return authn.Record{}, false, fmt.Errorf("mongo_auth: %w", err)
	}
	switch len(docs) {
	case 0:
		return authn.Record{}, false, nil
	case 1:
	default:
		return authn.Record{}, false, fmt.Errorf("mongo_auth: more than one document has username %q; keep one (docker_auth keeps usernames unique with an index)", user)
	}
	rec, err := decode(docs[0])
	if err != nil {
		return authn.Record{}, false, fmt.Errorf("mongo_auth: user %q: %w", user, err)
	}
	return rec, true, nil
}

// decode reads password and labels; a value of the wrong type is an
// error (the password's value is never quoted).
func decode(doc bson.Raw) (authn.Record, error) {
	var rec authn.Record
	switch v := doc.Lookup("password"); v.Type {
	case 0, bson.TypeNull:
	case bson.TypeString:
		rec.Hash = v.StringValue()
	default:
		return rec, fmt.Errorf("password is a %s, not a string holding a bcrypt hash", v.Type)
	}
	v := doc.Lookup("labels")
	switch v.Type {
	case 0, bson.TypeNull:
		return rec, nil
	case bson.TypeEmbeddedDocument:
	default:
		return rec, fmt.Errorf("labels is a %s, not a document of label name to values", v.Type)
	}
	elems, err := v.Document().Elements()
	if err != nil {
		return rec, fmt.Errorf("labels: %w", err)
	}
	if len(elems) > maxLabels {
		return rec, fmt.Errorf("labels: more than %d", maxLabels)
	}
	rec.Labels = make(auth.Labels, len(elems))
	for _, e := range elems {
		name, val := e.Key(), e.Value()
		if _, dup := rec.Labels[name]; dup {
			return rec, fmt.Errorf("labels.%s: repeated", name)
		}
		switch val.Type {
		case bson.TypeString:
			// One value where docker_auth expects a list: read as a list of one.
			rec.Labels[name] = []string{val.StringValue()}
		case bson.TypeArray:
			items, err := val.Array().Values()
			if err != nil {
				return rec, fmt.Errorf("labels.%s: %w", name, err)
			}
			if len(items) > maxLabelValues {
				return rec, fmt.Errorf("labels.%s: more than %d values", name, maxLabelValues)
			}
			list := make([]string, 0, len(items))
			for _, it := range items {
				s, ok := it.StringValueOK()
				if !ok {
					return rec, fmt.Errorf("labels.%s: a value is a %s, not a string", name, it.Type)
				}
				list = append(list, s)
			}
			rec.Labels[name] = list
		default:
			return rec, fmt.Errorf("labels.%s is a %s, not a list of strings", name, val.Type)
		}
	}
	return rec, nil
}
