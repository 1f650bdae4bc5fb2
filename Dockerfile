# A minimal image holding the static tagcli binary: no shell, no package manager, CA certificates
# from the base image, running as an unprivileged user.
#
# The binaries come from the release build (.github/workflows/release.yml), laid out as
# dist/linux/amd64/tagcli and dist/linux/arm64/tagcli; nothing is compiled here:
#   docker buildx build --platform linux/amd64,linux/arm64 -t tagcli .
# The policy file is read from the working directory (/work): mount it there.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY --chmod=0755 dist/${TARGETPLATFORM}/tagcli /usr/local/bin/tagcli
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/tagcli"]
