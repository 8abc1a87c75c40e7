package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEffectiveCryptosuite(t *testing.T) {
	cases := []struct {
		signing IssuerSigning
		want    Cryptosuite
	}{
		{IssuerSigning{Algorithm: KeyAlgorithmEd25519}, CryptosuiteEdDSARDFC2022},
		{IssuerSigning{Algorithm: KeyAlgorithmECDSAP256}, CryptosuiteECDSARDFC2019},
		{IssuerSigning{Algorithm: KeyAlgorithmECDSAP384}, CryptosuiteECDSARDFC2019},
		{IssuerSigning{Algorithm: KeyAlgorithmRSA2048}, ""},
		{IssuerSigning{Algorithm: KeyAlgorithmRSA3072}, ""},
		// An explicit cryptosuite wins over the derived one.
		{IssuerSigning{Algorithm: KeyAlgorithmECDSAP256, Cryptosuite: CryptosuiteECDSARDFC2019}, CryptosuiteECDSARDFC2019},
	}
	for _, c := range cases {
		if got := c.signing.EffectiveCryptosuite(); got != c.want {
			t.Errorf("%+v: EffectiveCryptosuite() = %q, want %q", c.signing, got, c.want)
		}
	}
}

func TestIsReadyNeedsTheCurrentGeneration(t *testing.T) {
	for _, obj := range []interface {
		ObjectWithConditions
		GetGeneration() int64
		SetGeneration(int64)
	}{&Issuer{}, &Framework{}, &CLRProvider{}} {
		obj.SetGeneration(3)
		if IsReady(obj) {
			t.Errorf("%T without conditions is ready", obj)
		}
		conds := obj.GetConditions()
		meta.SetStatusCondition(&conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonSucceeded, ObservedGeneration: 2})
		obj.SetConditions(conds)
		if IsReady(obj) {
			t.Errorf("%T is ready on a condition observed for generation 2 of 3", obj)
		}
		conds = obj.GetConditions()
		meta.SetStatusCondition(&conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonSucceeded, ObservedGeneration: 3})
		obj.SetConditions(conds)
		if !IsReady(obj) {
			t.Errorf("%T with Ready=True for its generation is not ready", obj)
		}
		if c := FindCondition(obj, ConditionReady); c == nil || c.Reason != ReasonSucceeded {
			t.Errorf("%T: FindCondition(Ready) = %+v", obj, c)
		}
		conds = obj.GetConditions()
		meta.SetStatusCondition(&conds, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonProgressing, ObservedGeneration: 3})
		obj.SetConditions(conds)
		if IsReady(obj) {
			t.Errorf("%T with Ready=False is ready", obj)
		}
	}
}
