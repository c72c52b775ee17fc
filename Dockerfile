# trunkscope's image for the server roles (probe, collector, alerts,
# dashboards): one static binary. The embedded engines are not in it: the
# roles use the compose stack's Kafka and ClickHouse. tcpdump compiles the
# probe's --bpf filters.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/trunkscope ./cmd/trunkscope

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tcpdump wget \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/trunkscope /usr/local/bin/trunkscope
ENV TRUNKSCOPE_DATA=/var/lib/trunkscope
VOLUME /var/lib/trunkscope
ENTRYPOINT ["trunkscope"]
