# The wharf container image: one static binary on an empty base.
#
#   make image                 # builds build/wharf and build/rootfs, then this file → wharf:latest
#   docker run -d -p 5000:5000 -v wharf:/var/lib/wharf -e WHARF_ADMIN_PASSWORD=… wharf:latest
#
# The binary is built outside, by `make image`, not in a builder stage:
#   - nothing is pulled: FROM scratch needs no base image, so the image builds
#     on machines without access to Docker Hub (our CI among them);
#   - it is reproducible: the same commit and Go toolchain give the same
#     binary (-trimpath, no cgo, no build paths or timestamps), whatever
#     golang image tag happens to be current;
#   - the image holds what runs and nothing else (no shell, no package manager).
#
# With network access, the equivalent multi-stage build is:
#
#   FROM golang:1.26 AS build
#   WORKDIR /src
#   COPY go.mod go.sum ./
#   RUN go mod download
#   COPY . .
#   ARG VERSION
#   RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X wharf/internal/buildinfo.version=$VERSION" -o /out/wharf ./cmd/wharf \
#    && mkdir -p /out/rootfs/tmp /out/rootfs/etc/ssl/certs /out/rootfs/var/lib /out/data/wharf \
#    && chmod 1777 /out/rootfs/tmp && chmod 0700 /out/data/wharf \
#    && cp /etc/ssl/certs/ca-certificates.crt /out/rootfs/etc/ssl/certs/
#   FROM scratch
#   COPY --from=build /out/rootfs/ /
#   COPY --from=build --chown=65532:65532 /out/data/ /var/lib/
#   COPY --from=build /out/wharf /wharf
#   … and the same USER, ENV, VOLUME, EXPOSE, HEALTHCHECK and ENTRYPOINT as below.
#
# (.dockerignore sends only build/ to the daemon: the build context stays small.)
FROM scratch

# /tmp (mode 1777) for SQLite's and Go's temporary files; the Debian
# ca-certificates bundle for outbound TLS (ACME, S3, OIDC, LDAP).
COPY build/rootfs/ /
# The data directory belongs to the unprivileged user, mode 0700 (it holds
# keys and the database); a new named volume mounted here starts as a copy
# of it, ownership and mode included. COPY gives the directory it copies
# *into* mode 0755, so build/data holds wharf/ (0700) and is copied into
# /var/lib, which build/rootfs made (root's, 0755).
COPY --chown=65532:65532 build/data/ /var/lib/
COPY build/wharf /wharf

# 65532 is the conventional "nonroot" id of distroless images; no passwd
# file is needed for a numeric user.
USER 65532:65532
ENV WHARF_DATA=/var/lib/wharf WHARF_ADDR=:5000
VOLUME /var/lib/wharf
EXPOSE 5000

# `wharf health` GETs /healthz on WHARF_ADDR's port (https with the CA that
# tls: auto generated in $WHARF_DATA/tls, else http) and needs no shell or curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/wharf", "health"]

ENTRYPOINT ["/wharf"]
CMD ["serve"]
