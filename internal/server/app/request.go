package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	bodyLimitKey
)

// WithRequestID returns ctx carrying the request id (set by the server's
// middleware; handlers read it with RequestID).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID is the id of the request being served ("" outside one). It is
// also sent back in the X-Request-Id response header.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Log returns base with the request id attached, for handler logs that an
// operator can correlate with the access log line.
func Log(ctx context.Context, base *slog.Logger) *slog.Logger {
	if id := RequestID(ctx); id != "" {
		return base.With("request_id", id)
	}
	return base
}

// BodyLimit is the byte limit of one request body, adjustable by a handler
// before it reads the body (e.g. bulk NDJSON issuance accepts more than
// the server-wide Server.MaxBodyBytes).
type BodyLimit struct{ n atomic.Int64 }

// WithBodyLimit wraps r's body so that reading more than limit bytes fails
// with *http.MaxBytesError, and returns the request carrying the limit.
func WithBodyLimit(r *http.Request, limit int64) *http.Request {
	bl := &BodyLimit{}
	bl.n.Store(limit)
	r = r.WithContext(context.WithValue(r.Context(), bodyLimitKey, bl))
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &limitedBody{rc: r.Body, limit: bl}
	}
	return r
}

// SetBodyLimit changes the body limit of the request (no effect outside
// the server's middleware). Call it before reading the body.
func SetBodyLimit(r *http.Request, limit int64) {
	if bl, ok := r.Context().Value(bodyLimitKey).(*BodyLimit); ok {
		bl.n.Store(limit)
	}
}

type limitedBody struct {
	rc    io.ReadCloser
	limit *BodyLimit
	read  int64
	err   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	limit := b.limit.n.Load()
	if limit <= 0 {
		return b.rc.Read(p)
	}
	// Read at most one byte past the limit to tell "exactly at the limit"
	// from "over it".
	if rem := limit - b.read + 1; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.read > limit {
		n -= int(b.read - limit)
		b.err = &http.MaxBytesError{Limit: limit}
		return n, b.err
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
