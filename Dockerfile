# The broker as a small image: the committed bundle (dist/broker) on distroless Node 24, run as
# the image's non-root user. Nothing is installed: the bundle carries its dependencies.
#   docker build -t deepgram-key-broker .
#   docker run -e DEEPGRAM_ADMIN_KEY -e BROKER_POLICY=/etc/broker/policy.yml \
#     -v "$PWD/policy.yml:/etc/broker/policy.yml:ro" -p 8080:8080 deepgram-key-broker
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
COPY dist/broker/ ./
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
EXPOSE 8080
USER nonroot
# The distroless entrypoint is node itself.
CMD ["index.js"]
