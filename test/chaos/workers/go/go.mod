module github.com/baton-run/baton/test/chaos/workers/go

go 1.26.0

require github.com/baton-run/baton/sdk/go v0.0.0

require (
	connectrpc.com/connect v1.21.1 // indirect
	github.com/baton-run/baton/gen/go v0.0.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/baton-run/baton/gen/go => ../../../../gen/go
	github.com/baton-run/baton/sdk/go => ../../../../sdk/go
)
