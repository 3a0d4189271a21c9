module github.com/baton-run/baton/sdk/go

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/baton-run/baton/gen/go v0.0.0
	google.golang.org/protobuf v1.36.12
)

replace github.com/baton-run/baton/gen/go => ../../gen/go
