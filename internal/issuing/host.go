package issuing

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/learnerrecords/clr-operator/internal/framework"
	"github.com/learnerrecords/clr-operator/internal/issuing/proof"
	"github.com/learnerrecords/clr-operator/internal/server/app"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/statuslist"
)

// Host is the issuing side of one clr-server, assembled once from the
// server's dependencies: the issuers with their signing, the frameworks, the
// status lists and the issuing service. The issuing, status and public
// handlers are built over it.
type Host struct {
	Issuers    map[string]*proof.Issuer
	Frameworks map[string]*framework.Layer
	Status     *statuslist.Service
	Issuing    *Service
	// Core is the credential core's signer (its Data Integrity suite is
	// shared with verifiers, so contexts are loaded once).
	Core *proof.Core
	// PublicURL is the base URL, no trailing slash.
	PublicURL string
}

// NewHost builds the Host from the server's dependencies. The configuration's
// credentialStatus.entries selects the single revocation entry (default) or
// the three-entry credentialStatus (see statuslist.Service.AllEntries).
func NewHost(d *app.Deps) (*Host, error) {
	if d.Config == nil || d.Store == nil || d.Keys == nil {
		return nil, fmt.Errorf("issuing: config, store and keys are required")
	}
	base := strings.TrimRight(d.PublicURL, "/")
	if base == "" {
		base = strings.TrimRight(d.Config.Server.PublicURL, "/")
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	contexts := d.ContextsDir
	if contexts == "" {
		contexts = d.Config.ContextsDir
	}
	core := proof.NewCore(contexts)
	var seconds *prometheus.HistogramVec
	if d.Metrics != nil {
		seconds = d.Metrics.SigningSeconds
	}
	cfg := *d.Config
	cfg.Server.PublicURL = base
	issuers, err := proof.Issuers(&cfg, d.Keys, core, seconds)
	if err != nil {
		return nil, err
	}
	frameworks := make(map[string]*framework.Layer, len(d.Frameworks))
	for name, fw := range d.Frameworks {
		l, err := framework.New(*fw, base)
		if err != nil {
			return nil, err
		}
		if l.Name() != name {
			return nil, fmt.Errorf("framework %q is registered under the name %q", l.Name(), name)
		}
		frameworks[name] = l
	}
	st := &statuslist.Service{Store: d.Store, Issuers: issuers, Base: base, Now: now, AllEntries: d.Config.CredentialStatus.Entries == serverconfig.StatusEntriesAll}
	svc := &Service{Store: d.Store, Issuers: issuers, Frameworks: frameworks, Status: st,
		URLs: URLs{Base: base}, Now: now, Metrics: d.Metrics}
	return &Host{Issuers: issuers, Frameworks: frameworks, Status: st, Issuing: svc, Core: core, PublicURL: base}, nil
}
