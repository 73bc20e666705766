# Stand-ins for the public bases, built by docker/bases.sh from local/debian:bookworm-slim
# with Node from the npm registry and this machine's npm (context: bin/node, npm/, include/node).
FROM local/debian:bookworm-slim AS node-slim
COPY bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]

FROM node-slim AS node
COPY include/node /usr/local/include/node
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates g++ make python3 git \
 && rm -rf /var/lib/apt/lists/*

# What distroless/nodejs holds: the C/C++ runtime, certificates, time zones, users, node.
FROM local/debian:bookworm-slim AS distroless-files
COPY bin/node /out/nodejs/bin/node
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /out/lib/x86_64-linux-gnu /out/lib64 /out/etc/ssl/certs /out/usr/share /out/tmp /out/home/nonroot \
 && cp -a $(dpkg -L libc6 libgcc-s1 libstdc++6 | grep -E '^/(usr/)?lib/x86_64-linux-gnu/[^/]+\.so[.0-9]*$') /out/lib/x86_64-linux-gnu/ \
 && cp -L /lib64/ld-linux-x86-64.so.2 /out/lib64/ \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && cp -r /usr/share/zoneinfo /out/usr/share/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > /out/etc/group \
 && chmod 1777 /out/tmp && chown 65532:65532 /out/home/nonroot

FROM scratch AS distroless
COPY --from=distroless-files /out/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/nodejs/bin/node"]
