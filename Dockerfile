# oscheck's image: a static binary on distroless (no shell, no package
# manager, CA certificates included), running as a numeric non-root user.
#
#   docker build -t oscheck:dev .
#   docker run --rm -p 9464:9464 oscheck:dev run --brokers kafka:9092
#
# The go build line must say what proc.BuildEnv and proc.BuildFlags say
# (cmd/internal/testkit/proc/net.go), which is how the tests build every
# binary; TestDockerfile checks it and builds the same way.

# The builder is pinned to go.mod's Go version: the golang image sets
# GOTOOLCHAIN=local, so an older cached 1.26.x would refuse the module at
# go mod download (TestDockerfile checks the two agree).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# the module's packages by name: nothing else of the repository (.git, CI,
# deployment files, built binaries) goes into the build stage
COPY cmd ./cmd
COPY processor ./processor
COPY state ./state
COPY topology ./topology
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/oscheck ./cmd/oscheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oscheck /oscheck
USER 65532:65532
# /metrics, /healthz, /readyz (http-addr)
EXPOSE 9464
# distroless has no curl or wget: the binary checks its own /healthz, at the
# http-addr PID 1 was given (flag, OSCHECK_HTTP_ADDR or config file); for
# gen and read, which serve no HTTP, there is nothing to check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["/oscheck", "healthcheck"]
ENTRYPOINT ["/oscheck"]
CMD ["run"]
