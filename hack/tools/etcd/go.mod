// A module of its own so the main module does not require etcd's server:
// hack/build-control-plane.sh resolves it (go mod tidy) in a copy under bin/.
module clr-operator.local/etcd

go 1.26

require go.etcd.io/etcd/server/v3 v3.7.3
