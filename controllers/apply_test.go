package controllers_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/learnerrecords/clr-operator/controllers"
)

// ensureApplied leaves the stored object in its argument: the apply
// response when it wrote, the live object when nothing needed writing.
func TestEnsureAppliedReturnsStoredObject(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	scheme := controllers.NewScheme()
	build := func() *appsv1.Deployment {
		labels := map[string]string{"app": "apply-test"}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apply-test", Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.org/c:1"}}},
				},
			},
		}
	}

	first := build()
	if err := controllers.EnsureApplied(ctx, k8s, scheme, first); err != nil {
		t.Fatal(err)
	}
	// Set by the apiserver only: the object is the apply response.
	if first.UID == "" || first.ResourceVersion == "" || first.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Fatalf("after the apply: uid %q, resourceVersion %q, strategy %q; want the stored Deployment", first.UID, first.ResourceVersion, first.Spec.Strategy.Type)
	}
	if first.Annotations[controllers.AnnotationAppliedHash] == "" {
		t.Errorf("stored Deployment lacks the %s annotation", controllers.AnnotationAppliedHash)
	}

	second := build()
	if err := controllers.EnsureApplied(ctx, k8s, scheme, second); err != nil {
		t.Fatal(err)
	}
	if second.UID != first.UID || second.ResourceVersion != first.ResourceVersion {
		t.Errorf("unchanged Deployment: got uid %q resourceVersion %q, want the stored %q %q (and no write)",
			second.UID, second.ResourceVersion, first.UID, first.ResourceVersion)
	}
}
