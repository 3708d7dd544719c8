# The broker as a small image: the committed bundle (dist/broker) on distroless Node 24, run as
# the image's non-root user. Nothing is installed and nothing runs at build time (no RUN: the
# release builds it for amd64 and arm64 alike); the bundle carries its dependencies.
# Releases publish it as ghcr.io/OWNER/deepgram-key-broker:X.Y.Z (.github/workflows/release.yml).
#   docker build -t deepgram-key-broker .
#   docker run -e DEEPGRAM_ADMIN_KEY -e BROKER_POLICY=/etc/broker/policy.yml \
#     -v "$PWD/policy.yml:/etc/broker/policy.yml:ro" -p 8080:8080 deepgram-key-broker
#   docker run --rm -v "$PWD/policy.yml:/p.yml:ro" deepgram-key-broker index.js check /p.yml
# Metrics: add -e METRICS_PORT=9090 -e METRICS_HOST=0.0.0.0 -p 127.0.0.1:9090:9090.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY dist/broker/ ./
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
EXPOSE 8080
USER nonroot
# The distroless entrypoint is node itself.
CMD ["index.js"]
