# Build the manager binary
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Copy the Go Modules manifests
COPY go.mod go.mod
COPY go.sum go.sum
# cache deps before building and copying source so that we don't need to re-download as much
# and so that source changes don't invalidate our downloaded layer
RUN go mod download

# Copy the Go source (relies on .dockerignore to filter)
COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

# Build a static binary: no cgo, so it runs on a base image with no libc.
# GOARCH has no default value so the binary is built for the host where the
# command was called; docker buildx sets TARGETOS and TARGETARCH per platform.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -a -o manager cmd/main.go

# Use distroless as minimal base image to package the manager binary: no
# shell, no package manager, and a non-root user.
# Refer to https://github.com/GoogleContainerTools/distroless for more details
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
