# chat-grpc: the server (default command) and chat-tui (the compose `client`
# service) in one image. Two stages: `build` has the dev dependencies, checks
# the sources and lays out the app; `runtime` holds that app and its production
# dependencies only. test/e2e/image.test.ts replays the runtime stage here.

# Pinned: the same Node 20 release the project is tested on.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, so editing the sources does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# gen/ is made again from proto/, the sources must type-check (tsx, which runs
# them, does not), then the app is laid out in /app as `npm pack` ships it.
RUN npm run generate \
 && npm run typecheck \
 && bash scripts/stage-app.sh /app

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 passes SIGTERM on to node, which drains, and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    CHAT_GRPC_HOST=0.0.0.0 \
    CHAT_GRPC_PORT=50051
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/ ./
# Files stay root's and read-only to the app; it runs as the image's `node` user (uid 1000).
USER node
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "bin/grpc-health-probe.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/server/main.ts"]
