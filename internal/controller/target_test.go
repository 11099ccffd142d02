package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var _ = DescribeTable("namespaceGone tells a namespace deleted under a write from other failures",
	func(err error, want bool) {
		Expect(namespaceGone(err)).To(Equal(want))
	},
	Entry("the namespace is not found", apierrors.NewNotFound(corev1.Resource("namespaces"), "t1"), true),
	Entry("the namespace is being deleted", &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}},
	}}, true),
	Entry("the Secret is not found", apierrors.NewNotFound(corev1.Resource("secrets"), "vantage-token"), false),
	Entry("a conflict", apierrors.NewConflict(corev1.Resource("secrets"), "vantage-token", nil), false),
	Entry("another refusal", apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "vantage-token", nil), false),
)
