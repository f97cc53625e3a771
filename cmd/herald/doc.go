// Command herald runs a herald: an etcd v3 proxy that takes membership load
// off the coordinator behind it.
//
//	herald                      # the same as `herald start`
//	herald start --endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379
//	herald start --check-config --config=configs/herald.yaml
//	herald status --endpoints=127.0.0.1:9379   # the fleet's status (its /status page, in a terminal)
//
// Settings come from flags, then HERALD_* environment variables, then the
// YAML file named by --config, then defaults. Flag names follow `etcd
// grpc-proxy start` where a flag means the same thing. With no --endpoints,
// herald runs an embedded single-member etcd in its data dir.
//
// cobra and viper live only in this package; they produce a plain,
// validated Config, and Run(ctx, Config) builds herald from it and serves
// until ctx ends (main cancels it on SIGINT or SIGTERM; tests run it
// in-process).
package main
