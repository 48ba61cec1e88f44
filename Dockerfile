# Container image for deploy/kubernetes: a static binary on a minimal base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /broadcaster ./cmd/broadcaster

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /broadcaster /broadcaster
USER nonroot
ENTRYPOINT ["/broadcaster"]
CMD ["run"]
