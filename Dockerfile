# syntax=docker/dockerfile:1
#
# Two images from one build:
#   docker build --target manager    -t ghcr.io/learnerrecords/clr-operator:dev .
#   docker build --target clr-server -t ghcr.io/learnerrecords/clr-server:dev .
# (`make docker-build` runs both.) Without a container engine, `make images`
# (hack/tools/imagebuild) builds the same two images, from the same rootfs
# files, with the same user, paths, entrypoint and labels; test/image checks
# that this file and those images agree, so change both together.
#
# Both images are FROM scratch: a static binary (CGO_ENABLED=0: SQLite is
# modernc.org/sqlite, pure Go), /etc/passwd and /etc/group naming the
# non-root user 65532, Debian's CA certificates and, for clr-server, the
# pinned JSON-LD contexts. No shell, no package manager. They run as the
# numeric user 65532:65532, which fits the restricted Pod Security Standard
# and a read-only root filesystem.

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
ARG VERSION=dev
ARG REVISION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags="-s -w -X github.com/learnerrecords/clr-operator/internal/buildinfo.version=${VERSION} -X github.com/learnerrecords/clr-operator/internal/buildinfo.revision=${REVISION}" -o /out/ ./cmd/manager ./cmd/clr-server

# The pinned JSON-LD contexts clr-server signs and verifies with (it never
# fetches a context at run time). Fetched once at build time by clr-server
# itself, built for the build platform, which checks every file against the
# SHA-256 pinned in code and fails the build on a mismatch.
FROM builder AS contexts
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -o /tmp/clr-server-host ./cmd/clr-server && \
    /tmp/clr-server-host contexts fetch --dir /contexts && \
    /tmp/clr-server-host contexts verify --dir /contexts

# The files both images share: passwd and group (hack/tools/imagebuild/rootfs,
# which `make images` uses too) and the Debian CA certificates of the Go image.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS rootfs
COPY hack/tools/imagebuild/rootfs/ /rootfs/
RUN mkdir -p /rootfs/etc/ssl/certs && \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt && \
    chmod -R u=rwX,go=rX /rootfs

# The operator.
FROM scratch AS manager
ARG VERSION=dev
ARG REVISION=
COPY --from=rootfs /rootfs/ /
COPY --from=builder /out/manager /manager
LABEL org.opencontainers.image.title="clr-operator" \
      org.opencontainers.image.description="Kubernetes operator hosting Comprehensive Learner Records (CLR 2.0) for many institutions" \
      org.opencontainers.image.source="https://github.com/learnerrecords/clr-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /
USER 65532:65532
ENTRYPOINT ["/manager"]

# clr-server, the per-institution CLR host. The operator mounts its config
# file and passes the arguments; standalone: `serve --config FILE`.
FROM scratch AS clr-server
ARG VERSION=dev
ARG REVISION=
COPY --from=rootfs /rootfs/ /
COPY --from=contexts /contexts /contexts
COPY --from=builder /out/clr-server /clr-server
LABEL org.opencontainers.image.title="clr-server" \
      org.opencontainers.image.description="Comprehensive Learner Record (CLR 2.0 / Open Badges 3.0) host: issuing, the CLR REST API with OAuth 2.0, verification" \
      org.opencontainers.image.source="https://github.com/learnerrecords/clr-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# The operator's rendered config sets no contextsDir: the image says where
# its pinned contexts are (a config file's contextsDir is overridden by it).
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CLR_SERVER_CONTEXTS=/contexts
WORKDIR /
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/clr-server"]
CMD ["serve"]
