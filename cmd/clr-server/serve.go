package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/learnerrecords/clr-operator/internal/memlimit"
	"github.com/learnerrecords/clr-operator/internal/server"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

func init() {
	register("serve", "run the CLR host (serve --dev for a local try on SQLite)", runServe)
}

// serveContext is the context serve runs under until SIGINT/SIGTERM;
// tests replace it to stop the server without signals.
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration file (JSON or YAML, as the operator renders it); env "+serverconfig.EnvConfig)
	dev := fs.Bool("dev", false, "development mode: SQLite under --data-dir, generated key and secrets, sample issuer and framework, built-in login; env "+serverconfig.EnvDev)
	listen := fs.String("listen", "", "API address (default "+server.DevListen+" with --dev, else "+serverconfig.DefaultListen+"); env "+serverconfig.EnvListen)
	metricsListen := fs.String("metrics-listen", "", "Prometheus /metrics address (default "+server.DevMetricsListen+" with --dev, else "+serverconfig.DefaultMetricsListen+"); env "+serverconfig.EnvMetricsListen)
	dataDir := fs.String("data-dir", "", "writable data directory (default ./"+server.DevDataDir+" with --dev); env "+serverconfig.EnvDataDir)
	fs.String("contexts", "", "pinned JSON-LD contexts directory (default ./contexts or next to the binary); env "+serverconfig.EnvContexts)
	fs.String("public-url", "", "external base URL (default http://LISTEN with --dev); env "+serverconfig.EnvPublicURL)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	memoryLimitRatio := fs.Float64("memory-limit-ratio", memlimit.DefaultRatio,
		"Go soft memory limit as a share of $"+memlimit.EnvContainerLimit+" (the container's memory limit in bytes, from the downward API), unless GOMEMLIMIT is set; 0 disables")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "clr-server serve: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "clr-server serve: --log-level: %v\n", err)
		return 2
	}
	flagSet := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagSet[f.Name] = true })
	fail := func(err error) int {
		fmt.Fprintf(stderr, "clr-server serve: %v\n", err)
		return 1
	}
	logger := server.NewLogger(stderr, level)
	// Before anything big is allocated: without a soft limit the heap may
	// grow to twice its live size and the pod be OOM-killed.
	switch res, err := memlimit.Set(*memoryLimitRatio); {
	case err != nil:
		return fail(fmt.Errorf("Go soft memory limit: %w", err))
	case res.Soft > 0:
		logger.Info("Go soft memory limit set", "bytes", res.Soft, "containerLimitBytes", res.Container, "ratio", *memoryLimitRatio)
	case os.Getenv("GOMEMLIMIT") != "":
		logger.Info("Go soft memory limit from GOMEMLIMIT", "bytes", debug.SetMemoryLimit(-1))
	}

	// Precedence: file < environment < flags.
	if *configFile == "" {
		*configFile = os.Getenv(serverconfig.EnvConfig)
	}
	if !flagSet["dev"] {
		if v := os.Getenv(serverconfig.EnvDev); v != "" {
			*dev = v == "1" || v == "true" || v == "TRUE" || v == "True"
		}
	}
	pick := func(name, flagValue, env, devDefault string) string {
		if flagSet[name] {
			return flagValue
		}
		if v := os.Getenv(env); v != "" {
			return v
		}
		if *dev {
			return devDefault
		}
		return ""
	}

	var (
		cfg     *serverconfig.Config
		secrets *serverconfig.InternalSecrets
		err     error
	)
	switch {
	case *configFile != "":
		data, err := os.ReadFile(*configFile)
		if err != nil {
			return fail(fmt.Errorf("read configuration: %w", err))
		}
		if cfg, err = serverconfig.Parse(data); err != nil {
			return fail(fmt.Errorf("%s: %w", *configFile, err))
		}
		if *dev {
			cfg.Dev = true
		}
	case *dev:
		cfg, secrets, err = server.DevSetup(
			pick("data-dir", *dataDir, serverconfig.EnvDataDir, server.DevDataDir),
			pick("listen", *listen, serverconfig.EnvListen, server.DevListen),
			pick("metrics-listen", *metricsListen, serverconfig.EnvMetricsListen, server.DevMetricsListen))
		if err != nil {
			return fail(fmt.Errorf("development setup: %w", err))
		}
	default:
		return fail(errors.New("no configuration: pass --config FILE (or set " + serverconfig.EnvConfig + "), or --dev for a local development host"))
	}
	if err := cfg.ApplyEnv(nil); err != nil {
		return fail(err)
	}
	for name, dst := range map[string]*string{"listen": &cfg.Server.Listen, "metrics-listen": &cfg.Server.MetricsListen,
		"data-dir": &cfg.Server.DataDir, "contexts": &cfg.ContextsDir, "public-url": &cfg.Server.PublicURL} {
		if flagSet[name] {
			*dst = fs.Lookup(name).Value.String()
		}
	}
	dir, err := contextsDir(cfg.ContextsDir)
	if err != nil {
		return fail(err)
	}
	cfg.ContextsDir = dir
	derivedURL := cfg.Server.PublicURL == ""
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return fail(fmt.Errorf("invalid configuration:\n%w", err))
	}
	if secrets == nil {
		if cfg.SecretsFile == "" {
			return fail(errors.New("secretsFile: required"))
		}
		if secrets, err = serverconfig.LoadSecrets(cfg.SecretsFile); err != nil {
			return fail(err)
		}
	}

	// Listen before assembling, so that with port 0 (tests) the public URL
	// derived in development mode names the real port.
	apiLn, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fail(fmt.Errorf("listen %s: %w", cfg.Server.Listen, err))
	}
	var metricsLn net.Listener
	if cfg.Server.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.Server.MetricsListen); err != nil {
			apiLn.Close()
			return fail(fmt.Errorf("listen %s (metrics): %w", cfg.Server.MetricsListen, err))
		}
	}
	if cfg.Dev && derivedURL {
		cfg.Server.PublicURL = "http://" + apiLn.Addr().String()
	}

	ctx, stop := serveContext()
	defer stop()
	srv, err := server.New(ctx, server.Options{Config: cfg, Secrets: secrets, Logger: logger})
	if err != nil {
		apiLn.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		return fail(err)
	}
	printURLs(stdout, cfg, metricsLn)
	if err := srv.Serve(ctx, apiLn, metricsLn); err != nil {
		return fail(err)
	}
	return 0
}

func printURLs(w io.Writer, cfg *serverconfig.Config, metricsLn net.Listener) {
	base := cfg.Server.PublicURL
	mode := ""
	if cfg.Dev {
		mode = " (development mode: built-in login, any username)"
	}
	fmt.Fprintf(w, "clr-server is running%s\n", mode)
	fmt.Fprintf(w, "  CLR API:        %s/ims/clr/v2p0/\n", base)
	fmt.Fprintf(w, "  Discovery:      %s/ims/clr/v2p0/discovery\n", base)
	fmt.Fprintf(w, "  Registration:   %s/oauth/register\n", base)
	fmt.Fprintf(w, "  Authorize:      %s/oauth/authorize\n", base)
	fmt.Fprintf(w, "  Token:          %s/oauth/token\n", base)
	for _, is := range cfg.Issuers {
		fmt.Fprintf(w, "  Issuer:         %s/issuers/%s\n", base, is.Name)
	}
	for _, fw := range cfg.Frameworks {
		fmt.Fprintf(w, "  Framework:      %s/frameworks/%s\n", base, fw.Name)
	}
	fmt.Fprintf(w, "  JWKS:           %s/.well-known/jwks.json\n", base)
	fmt.Fprintf(w, "  Health:         %s/healthz\n", base)
	fmt.Fprintf(w, "  Ready:          %s/readyz\n", base)
	if metricsLn != nil {
		fmt.Fprintf(w, "  Metrics:        http://%s/metrics\n", metricsLn.Addr())
	}
	if cfg.Dev {
		for _, ic := range cfg.OAuth.IssuingClients {
			fmt.Fprintf(w, "  Issuing client: %s (secret in %s)\n", ic.ClientID, cfg.SecretsFile)
		}
		if cfg.Storage.SQLitePath != "" {
			fmt.Fprintf(w, "  Database:       %s\n", filepath.Clean(cfg.Storage.SQLitePath))
		}
	}
}
