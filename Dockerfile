# syntax=docker/dockerfile:1
# tvpay-ledger: the compiled service (and the partner simulators) on Node.js, as a non-root user.
#   docker build -t tvpay-ledger .
#   docker run -p 3000:3000 -e API_TOKENS=… -e PAYMENT_PLATFORM_SECRET=… -e CODE_SECRET=… -e DATA_KEY_SECRET=… tvpay-ledger
# docker-compose.yml runs the whole stack. Node 24 is the current LTS; 20 and 22 also work
# (--build-arg NODE_VERSION=22).
ARG NODE_VERSION=24

# ---- build: install everything (better-sqlite3 compiles here), compile to dist/, keep runtime deps only
FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The sources: everything .dockerignore lets through (no tests, docs, data or local builds).
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: dist/, production node_modules, package.json (version), catalog.json and sms-templates.json
# (the operator's files: mount others over them, or point CATALOG_FILE / SMS_TEMPLATES_FILE elsewhere)
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json catalog.json sms-templates.json ./
# The image's files stay root's (read-only to the service); only the data dir is the service's.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js"]
# node itself is PID 1 (no npm, no shell): SIGTERM reaches the server, which drains requests,
# stops the task worker and projections, and exits within 25 s (give `docker stop` -t 30).
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "dist/scripts/start.js"]
