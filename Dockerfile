# syntax=docker/dockerfile:1
#
# Two images from one build:
#   docker build --target manager    -t ghcr.io/learnerrecords/clr-operator:dev .
#   docker build --target clr-server -t ghcr.io/learnerrecords/clr-server:dev .
# (`make docker-build` runs both; the CI machines have no Docker engine.)
# Both binaries are static (CGO_ENABLED=0: SQLite is modernc.org/sqlite, pure
# Go) and run as the distroless non-root user 65532, which fits the
# restricted Pod Security Standard.

ARG GO_VERSION=1.26

# Builder: module download is its own layer so that a source change does not
# refetch modules. Runs on the build machine's platform and cross-compiles.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/manager ./cmd/manager && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/clr-server ./cmd/clr-server

# The pinned JSON-LD contexts clr-server signs and verifies with (it never
# fetches a context at run time). Fetched once at build time by clr-server
# itself, built for the build platform, which checks every file against the
# SHA-256 pinned in code and fails the build on a mismatch.
FROM builder AS contexts
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -o /tmp/clr-server-host ./cmd/clr-server && \
    /tmp/clr-server-host contexts fetch --dir /contexts

# The operator.
FROM gcr.io/distroless/static:nonroot AS manager
LABEL org.opencontainers.image.title="clr-operator" \
      org.opencontainers.image.description="Kubernetes operator hosting Comprehensive Learner Records (CLR 2.0) for many institutions" \
      org.opencontainers.image.source="https://github.com/learnerrecords/clr-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /
COPY --from=builder /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]

# clr-server, the per-institution CLR host. The operator mounts its config
# file and passes the arguments; standalone: `serve --config FILE`.
FROM gcr.io/distroless/static:nonroot AS clr-server
LABEL org.opencontainers.image.title="clr-server" \
      org.opencontainers.image.description="Comprehensive Learner Record (CLR 2.0 / Open Badges 3.0) host: issuing, the CLR REST API with OAuth 2.0, verification" \
      org.opencontainers.image.source="https://github.com/learnerrecords/clr-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /
COPY --from=builder /out/clr-server /clr-server
COPY --from=contexts /contexts /contexts
# The operator's rendered config sets no contextsDir: the image says where
# its pinned contexts are (a config file's contextsDir is overridden by it).
ENV CLR_SERVER_CONTEXTS=/contexts
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/clr-server"]
CMD ["serve"]
