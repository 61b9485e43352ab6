# Stand-in for nginxinc/nginx-unprivileged:1.28-alpine on a machine that cannot pull it (built by
# deploy/docker/setup.sh): nginx compiled from its release source with the official build's HTTP modules
# (`sh auto/configure`: the Go module archive keeps no file modes), run as the unprivileged user 101 on
# port 8080 with its pid and temp files in /tmp, wget for the health check, SIGQUIT to stop gracefully:
# the same contract as the official image.
FROM podstore-local/debian:bookworm AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends gcc make libc6-dev libpcre2-dev zlib1g-dev libssl-dev
COPY nginx-src /src
WORKDIR /src
RUN sh auto/configure --prefix=/etc/nginx --sbin-path=/usr/sbin/nginx --modules-path=/usr/lib/nginx/modules \
    --conf-path=/etc/nginx/nginx.conf --error-log-path=/dev/stderr --http-log-path=/dev/stdout \
    --pid-path=/tmp/nginx.pid --lock-path=/tmp/nginx.lock \
    --http-client-body-temp-path=/tmp/client_temp --http-proxy-temp-path=/tmp/proxy_temp \
    --http-fastcgi-temp-path=/tmp/fastcgi_temp --http-uwsgi-temp-path=/tmp/uwsgi_temp \
    --http-scgi-temp-path=/tmp/scgi_temp --user=nginx --group=nginx --with-threads \
    --with-http_ssl_module --with-http_v2_module --with-http_realip_module --with-http_gunzip_module \
    --with-http_gzip_static_module --with-http_stub_status_module --with-http_auth_request_module \
    --with-stream --with-stream_ssl_module --with-stream_realip_module \
  && make -j"$(nproc)" && make install

FROM podstore-local/debian:bookworm
RUN apt-get update \
  && apt-get install -y --no-install-recommends wget libpcre2-8-0 zlib1g libssl3 \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 101 nginx \
  && useradd --system --uid 101 --gid nginx --home-dir /nonexistent --shell /bin/false nginx
COPY --from=build /usr/sbin/nginx /usr/sbin/nginx
COPY --from=build /etc/nginx /etc/nginx
RUN sed -i 's/listen       80;/listen       8080;/' /etc/nginx/nginx.conf \
  && nginx -V 2>&1 | head -1
STOPSIGNAL SIGQUIT
EXPOSE 8080
USER 101
CMD ["nginx", "-g", "daemon off;"]
