package controllers_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/learnerrecords/clr-operator/controllers"
)

// ensureApplied leaves the stored object in its argument: the apply
// response when it wrote, the live object when nothing needed writing.
// A Service is used because no controller of the suite writes to it (the
// Deployment controller of kube-controller-manager would bump a
// Deployment's resourceVersion with status updates at any moment).
func TestEnsureAppliedReturnsStoredObject(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	scheme := controllers.NewScheme()
	build := func() *corev1.Service {
		labels := map[string]string{"app": "apply-test"}
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apply-test", Labels: labels},
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}
	}

	first := build()
	if err := controllers.EnsureApplied(ctx, k8s, scheme, first); err != nil {
		t.Fatal(err)
	}
	// Set by the apiserver only: the object is the apply response.
	if first.UID == "" || first.ResourceVersion == "" || first.Spec.ClusterIP == "" || first.Spec.SessionAffinity != corev1.ServiceAffinityNone {
		t.Fatalf("after the apply: uid %q, resourceVersion %q, clusterIP %q, sessionAffinity %q; want the stored Service",
			first.UID, first.ResourceVersion, first.Spec.ClusterIP, first.Spec.SessionAffinity)
	}
	if first.Annotations[controllers.AnnotationAppliedHash] == "" {
		t.Errorf("stored Service lacks the %s annotation", controllers.AnnotationAppliedHash)
	}

	second := build()
	if err := controllers.EnsureApplied(ctx, k8s, scheme, second); err != nil {
		t.Fatal(err)
	}
	if second.UID != first.UID || second.ResourceVersion != first.ResourceVersion || second.Spec.ClusterIP != first.Spec.ClusterIP {
		t.Errorf("unchanged Service: got uid %q resourceVersion %q clusterIP %q, want the stored %q %q %q (and no write)",
			second.UID, second.ResourceVersion, second.Spec.ClusterIP, first.UID, first.ResourceVersion, first.Spec.ClusterIP)
	}
}
