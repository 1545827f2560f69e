# The image of the lab's pods on a real cluster (--testbed k8s): the driver (each pod of the
# matrix Job), the target and its sink, and the container `halfopen k8s watch` adds to a pod. One
# image for all of them: both ends of every experiment run the same build of the lab.
FROM node:20-bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
# kubectl's minor version: its apt repository has one per minor (pkgs.k8s.io). Kubernetes' version
# skew policy supports kubectl within one minor of the API server (older or newer): for a cluster
# further from this one, build with the cluster's minor, e.g.
#   docker build --build-arg KUBECTL_MINOR=v1.34 -t halfopen .
ARG KUBECTL_MINOR=v1.32

# The brokers the lab measures (nats-server, mosquitto) and the tools it spawns (ip and ss,
# iptables, conntrack, sysctl), as scripts/setup.sh installs them on a host; curl and the CA
# certificates to fetch kubectl's key. kubectl comes from the Kubernetes project's own repository:
# the port-forward fault runs the real `kubectl port-forward`, and Debian ships none that
# current. apt reads an ASCII-armoured key from a file named .asc, so gnupg is not needed.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      nats-server mosquitto iproute2 iptables conntrack procps ca-certificates curl; \
    install -m 0755 -d /etc/apt/keyrings; \
    curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/Release.key" \
      -o /etc/apt/keyrings/kubernetes-apt-keyring.asc; \
    echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/ /" \
      > /etc/apt/sources.list.d/kubernetes.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends kubectl; \
    rm -rf /var/lib/apt/lists/*

WORKDIR /opt/halfopen

# The dependencies in a layer of their own: rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The lab itself (scenarios/: `halfopen demo` reads its scenario from there), built, then the
# compiler and the other development packages removed. main.js starts with `#!/usr/bin/env node`;
# tsc does not make it executable.
COPY tsconfig.json ./
COPY src ./src
COPY scenarios ./scenarios
RUN set -eux; \
    npm run build; \
    npm prune --omit=dev; \
    chmod +x /opt/halfopen/dist/src/cli/main.js; \
    ln -s /opt/halfopen/dist/src/cli/main.js /usr/local/bin/halfopen

# The node image's `node` user, by number so that a pod's runAsNonRoot can check it. None of the
# lab's pods needs root as such: its ports are above 1024 and /proc/net/tcp is readable by anyone.
# A pod that runs iptables inside itself must ask for root and NET_ADMIN in its securityContext.
USER 1000:1000

ENTRYPOINT ["halfopen"]
