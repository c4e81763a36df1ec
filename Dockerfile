# The bulwark binary in a minimal image: a static build (no C library, no
# shell) on distroless's static base, run as its non-root user (65532).
#
#   docker build -t bulwark .        # or: podman build / buildah bud
#   docker run -p 443:8443 -p 80:8080 -v /etc/bulwark:/etc/bulwark:ro bulwark
#
# The container listens on 8443 and 8080 (a non-root user cannot bind
# ports below 1024): set listen.https = ":8443", listen.http = ":8080",
# and https.redirect_port to the public HTTPS port (443 above).
# deploy/compose/ runs it in front of a Django app.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what "bulwark version" prints (the build context has no .git).
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION}" -o /out/bulwark ./cmd/bulwark
RUN /out/bulwark version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bulwark /usr/local/bin/bulwark
USER 65532:65532
EXPOSE 8080 8443
ENTRYPOINT ["/usr/local/bin/bulwark"]
CMD ["serve", "--config", "/etc/bulwark/bulwark.toml"]
