# syntax=docker/dockerfile:1
# Multi-stage build. The build stage has internet access and a compiler, so the optional native
# backend @tensorflow/tfjs-node installs (its install script downloads libtensorflow); where it
# cannot, the image still works and trains on WebAssembly.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
# The client package is a workspace: npm ci links it, the build compiles it.
COPY packages ./packages
COPY prisma ./prisma
# package.json's allowScripts lets tfjs-node's install script run under npm 11 as well.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web-dist ./web-dist
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The API by default; the worker service runs `node dist/main/worker.js`.
CMD ["node", "dist/main/api.js"]
