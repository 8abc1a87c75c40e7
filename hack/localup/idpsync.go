package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/localidp"
)

// planLater registers at the local provider every CLRProvider of provs
// applied after up (not in upRealms) whose issuerURL names one of its
// realms (https://127.0.0.1:18443/realms/NAME), on top of base, the
// configuration up planned. The realm is created when new (titled with the
// profile name of the provider's first Issuer, with the sample learner);
// the client gets the secret of the provider's Secret and its public
// callback URL. A provider that cannot be registered (no Secret yet, a
// client id taken with another secret) is reported in problems and left
// out; the others are not affected. A deleted CLRProvider is simply no
// longer in provs: its client goes, and its realm when it was the last.
func planLater(ctx context.Context, c client.Client, base localidp.Config, upRealms []oidcRealmState, provs []clrv1.CLRProvider) (localidp.Config, []oidcRealmState, map[types.NamespacedName]string) {
	plan := &idpPlan{cfg: cloneConfig(base)}
	problems := map[types.NamespacedName]string{}
	for i := range provs {
		prov := &provs[i]
		key := types.NamespacedName{Namespace: prov.Namespace, Name: prov.Name}
		if prov.Spec.OAuth.OIDC == nil || slices.ContainsFunc(upRealms, func(r oidcRealmState) bool { return r.Provider == key }) {
			continue
		}
		name := localRealm(base.BaseURL, prov.Spec.OAuth.OIDC.IssuerURL)
		if name == "" {
			continue
		}
		secret, err := oidcClientSecret(ctx, c, prov)
		if err != nil {
			problems[key] = err.Error()
			continue
		}
		// Registered on a copy first, so that a refused provider leaves
		// the configuration as it was.
		try := &idpPlan{cfg: cloneConfig(plan.cfg)}
		rs, err := try.register(prov, name, laterInstitutionName(ctx, c, prov), secret)
		if err == nil {
			err = try.cfg.Validate()
		}
		if err != nil {
			problems[key] = err.Error()
			continue
		}
		rs.Later = true
		plan.cfg = try.cfg
		plan.realms = append(plan.realms, rs)
	}
	return plan.cfg, plan.realms, problems
}

// cloneConfig is a copy of cfg sharing none of the slices register
// appends to.
func cloneConfig(cfg localidp.Config) localidp.Config {
	cfg.Realms = slices.Clone(cfg.Realms)
	for i := range cfg.Realms {
		r := &cfg.Realms[i]
		r.Clients = slices.Clone(r.Clients)
		for j := range r.Clients {
			r.Clients[j].RedirectURIs = slices.Clone(r.Clients[j].RedirectURIs)
		}
	}
	return cfg
}

// laterInstitutionName is the profile name of the provider's first Issuer
// in the cluster (the login page's title), or its namespace.
func laterInstitutionName(ctx context.Context, c client.Client, prov *clrv1.CLRProvider) string {
	if len(prov.Spec.IssuerRefs) > 0 {
		is := &clrv1.Issuer{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: prov.Namespace, Name: prov.Spec.IssuerRefs[0].Name}, is); err == nil && is.Spec.Profile.Name != "" {
			return is.Spec.Profile.Name
		}
	}
	return prov.Namespace
}

// idpSync is the kubelet's side of the local provider: it keeps the
// provider's configuration file equal to up's plan plus the CLRProviders
// applied later that point at it.
type idpSync struct {
	// reported are the problems already logged, so that each is logged
	// once rather than every round.
	reported map[types.NamespacedName]string
}

// sync rewrites the provider's configuration when it changed and records
// the later providers' sign-in in st (changed reports a change of st).
func (s *idpSync) sync(ctx context.Context, l *layout, c client.Client, st *state, provs []clrv1.CLRProvider) (changed bool, err error) {
	if st.OIDC == nil {
		return false, nil
	}
	dir := l.path("oidc")
	base, err := localidp.LoadConfigFile(filepath.Join(dir, "base.json"))
	if err != nil {
		return false, err
	}
	var upRealms, before []oidcRealmState
	for _, r := range st.OIDC.Realms {
		if r.Later {
			before = append(before, r)
		} else {
			upRealms = append(upRealms, r)
		}
	}
	cfg, later, problems := planLater(ctx, c, base, upRealms, provs)
	for k, msg := range problems {
		if s.reported[k] != msg {
			log.Printf("kubelet: CLRProvider %s names a realm of the local OpenID Connect provider but cannot be registered there: %s", k, msg)
		}
	}
	s.reported = problems

	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return false, err
	}
	cfgFile := filepath.Join(dir, "config.json")
	if old, err := os.ReadFile(cfgFile); err != nil || !bytes.Equal(old, raw) {
		if err := writeFileAtomic(cfgFile, raw, 0o600); err != nil {
			return false, fmt.Errorf("writing the OpenID Connect provider's configuration: %w", err)
		}
		for _, r := range later {
			if !slices.Contains(before, r) {
				log.Printf("kubelet: CLRProvider %s: client %s registered in realm %s of the local OpenID Connect provider (%s)", r.Provider, r.ClientID, r.Realm, r.Issuer)
			}
		}
		for _, r := range before {
			if !slices.ContainsFunc(later, func(n oidcRealmState) bool { return n.Provider == r.Provider }) {
				log.Printf("kubelet: CLRProvider %s: client %s dropped from realm %s of the local OpenID Connect provider", r.Provider, r.ClientID, r.Realm)
			}
		}
		waitRealms(ctx, st.OIDC.CAFile, later)
	}
	if slices.Equal(before, later) {
		return false, nil
	}
	st.OIDC.Realms = append(upRealms, later...)
	return true, nil
}

// waitRealms waits (a few seconds at most) until the provider serves the
// realms, so that a tenant started right after finds its issuer.
func waitRealms(ctx context.Context, caFile string, realms []oidcRealmState) {
	if len(realms) == 0 {
		return
	}
	hc, err := httpClientTrusting(caFile)
	if err != nil {
		log.Printf("kubelet: %v", err)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, r := range realms {
		if err := localcluster.WaitHTTP(wctx, hc, r.Issuer+"/.well-known/openid-configuration", func() error { return nil }); err != nil {
			log.Printf("kubelet: the local OpenID Connect provider does not serve %s yet: %v", r.Issuer, err)
		}
	}
}
