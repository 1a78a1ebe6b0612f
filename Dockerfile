# syntax=docker/dockerfile:1
# postback-dispatcher image: one image for `postback start|api|worker|sink`
# (docker-compose.yml picks the command per service).

# --- build: every dependency, then tsc -> dist/ ---------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# package.json overrides msgpackr-extract with file:./tools/msgpackr-extract-stub,
# so tools/ must be in place before every `npm ci`.
COPY package.json package-lock.json ./
COPY tools/ ./tools/
# No install scripts: nothing the build needs has one (only testcontainers' optional
# native helpers do), and the stub keeps msgpackr on its pure-JS path.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src/ ./src/
COPY workers/ ./workers/
RUN npm run build

# --- runtime: production dependencies and the built files only -------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY tools/ ./tools/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The Explorer page (GET /) is read from public/explorer.html at runtime.
COPY public/ ./public/
COPY config/ ./config/
# The only writable place for the app user (the sink's NDJSON log in the compose stack);
# everything else stays root-owned and read-only to it.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080 9000
CMD ["node", "dist/src/cli/main.js", "start"]
